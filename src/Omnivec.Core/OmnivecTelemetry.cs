using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Omnivec;

/// <summary>
/// Where Omnivec reports traces and metrics: every library writes to an <see cref="ActivitySource"/> named
/// <see cref="ActivitySourceName"/> and a <see cref="Meter"/> named <see cref="MeterName"/> (System.Diagnostics only, no
/// OpenTelemetry dependency). Nothing is measured unless a listener subscribes, e.g. OpenTelemetry's
/// <c>AddSource("Omnivec")</c> / <c>AddMeter("Omnivec")</c> or <c>dotnet-counters monitor -n app --counters Omnivec</c>.
/// </summary>
/// <remarks>
/// Instruments (seconds for durations, OpenTelemetry naming): <c>omnivec.model.run.duration</c> and
/// <c>omnivec.model.batch.size</c> (per ONNX Runtime run; tag <c>omnivec.tower</c>: text, vision, audio),
/// <c>omnivec.embedding.inputs</c> (inputs embedded; tag <c>omnivec.modality</c>),
/// <c>omnivec.batcher.queue.depth</c> and <c>omnivec.batcher.batch.size</c> (dynamic batching; tag <c>omnivec.modality</c>),
/// <c>omnivec.image.decode.duration</c> (tag <c>omnivec.image.format</c>), <c>omnivec.video.decode.duration</c> (FFmpeg
/// decoding and shot detection of one file), <c>omnivec.search.duration</c> (tags <c>omnivec.store</c>,
/// <c>omnivec.search.mode</c>) and <c>omnivec.index.items</c> (items per collection; tags <c>omnivec.store</c>,
/// <c>omnivec.collection</c>). Spans: <c>omnivec.embed</c> (one embedding call), <c>omnivec.model.run</c> (one model run)
/// and <c>omnivec.search</c>; loading: <c>omnivec.model.load</c> (one tower's session), <c>omnivec.tokenizer.load</c>,
/// <c>omnivec.model.probe</c> (the load-time text probe) and <c>omnivec.index.load</c> (a collection's vectors or graph).
/// </remarks>
public static class OmnivecTelemetry
{
    /// <summary>Name of the <see cref="ActivitySource"/> of every Omnivec library.</summary>
    public const string ActivitySourceName = "Omnivec";

    /// <summary>Name of the <see cref="Meter"/> of every Omnivec library.</summary>
    public const string MeterName = "Omnivec";

    /// <summary>Version reported by the source and the meter: the informational version of the Omnivec libraries.</summary>
    internal static string? Version { get; } = typeof(OmnivecTelemetry).Assembly.GetName().Version?.ToString();

    /// <summary>Histogram buckets for batch sizes (inputs).</summary>
    internal static readonly int[] BatchSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

    /// <summary>Histogram buckets for durations in seconds, from 0.5 ms to 1 min.</summary>
    internal static readonly double[] DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
}

/// <summary>Core's own source and instruments (the batcher).</summary>
internal static class CoreTelemetry
{
    public static readonly ActivitySource Source = new(OmnivecTelemetry.ActivitySourceName, OmnivecTelemetry.Version);

    public static readonly Meter Meter = new(OmnivecTelemetry.MeterName, OmnivecTelemetry.Version);

    public static readonly UpDownCounter<long> QueueDepth = Meter.CreateUpDownCounter<long>("omnivec.batcher.queue.depth", "{input}",
        "Inputs waiting in a dynamic batcher for their model run.");

    public static readonly Histogram<int> BatchSize = Meter.CreateHistogram("omnivec.batcher.batch.size", "{input}",
        "Inputs merged by a dynamic batcher into one call of the model.", tags: null,
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = OmnivecTelemetry.BatchSizeBuckets });

    /// <summary>The modality tag for an input type: text for strings, media for anything else (images, audio, video).</summary>
    public static string Modality<TInput>() => typeof(TInput) == typeof(string) ? "text" : "media";
}
