using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Omnivec.Index;

/// <summary>The stores' spans and instruments (names in <see cref="OmnivecTelemetry"/>), shared with the PostgreSQL store; free when nobody listens.</summary>
internal static class IndexTelemetry
{
    public const string Embedded = "embedded";
    public const string Postgres = "postgresql";

    private static readonly string? Version = typeof(IndexTelemetry).Assembly.GetName().Version?.ToString();

    public static readonly ActivitySource Source = new(OmnivecTelemetry.ActivitySourceName, Version);

    public static readonly Meter Meter = new(OmnivecTelemetry.MeterName, Version);

    public static readonly Histogram<double> SearchDuration = Meter.CreateHistogram("omnivec.search.duration", "s",
        "Time of one vector search in a collection (a batch of queries counts once).", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });

    public static readonly Gauge<long> Items = Meter.CreateGauge<long>("omnivec.index.items", "{item}",
        "Items in a collection, as of its last open or write in this process.");

    /// <summary>A timestamp when search durations are being listened to, else 0.</summary>
    public static long StartTimer() => SearchDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>The span of one search (null when nobody listens).</summary>
    public static Activity? StartSearch(string store, string collection, SearchMode mode, int queries, int top)
    {
        Activity? activity = Source.StartActivity("omnivec.search");
        if (activity is not null)
        {
            activity.SetTag("omnivec.store", store);
            activity.SetTag("omnivec.collection", collection);
            activity.SetTag("omnivec.search.mode", ModeName(mode));
            activity.SetTag("omnivec.query.count", queries);
            activity.SetTag("omnivec.top", top);
        }

        return activity;
    }

    /// <summary>The span of loading a collection's derived <paramref name="part"/> (vectors or hnsw) into memory (null when nobody listens).</summary>
    public static Activity? StartLoad(string part) => Source.StartActivity("omnivec.index.load")?.SetTag("omnivec.index.part", part);

    public static void RecordSearch(long started, string store, SearchMode mode)
    {
        if (started != 0)
        {
            SearchDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("omnivec.store", store), new KeyValuePair<string, object?>("omnivec.search.mode", ModeName(mode)));
        }
    }

    /// <summary>Records a collection's size; <paramref name="count"/> is only called when someone listens.</summary>
    public static void RecordItems(string store, string collection, Func<long> count)
    {
        if (Items.Enabled)
        {
            Items.Record(count(), new KeyValuePair<string, object?>("omnivec.store", store), new KeyValuePair<string, object?>("omnivec.collection", collection));
        }
    }

    private static string ModeName(SearchMode mode) => mode switch
    {
        SearchMode.Exact => "exact",
        SearchMode.Approximate => "approximate",
        _ => "auto",
    };
}
