using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Omnivec.Onnx;

/// <summary>The ONNX models' spans and instruments (names in <see cref="OmnivecTelemetry"/>); free when nobody listens.</summary>
internal static class OnnxTelemetry
{
    private static readonly string? Version = typeof(OnnxTelemetry).Assembly.GetName().Version?.ToString();

    public static readonly ActivitySource Source = new(OmnivecTelemetry.ActivitySourceName, Version);

    public static readonly Meter Meter = new(OmnivecTelemetry.MeterName, Version);

    public static readonly Histogram<double> RunDuration = Meter.CreateHistogram("omnivec.model.run.duration", "s",
        "Time of one ONNX Runtime run of a model tower (one batch).", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    public static readonly Histogram<int> BatchSize = Meter.CreateHistogram("omnivec.model.batch.size", "{input}",
        "Inputs in one ONNX Runtime run of a model tower.", tags: null,
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });

    public static readonly Counter<long> Inputs = Meter.CreateCounter<long>("omnivec.embedding.inputs", "{input}",
        "Inputs given to a local model to embed.");

    public static string TowerName(TowerKind kind) => kind switch
    {
        TowerKind.Text => "text",
        TowerKind.Vision => "vision",
        _ => "audio",
    };

    /// <summary>Starts the span of one embedding call (null when nobody listens) and counts its inputs.</summary>
    /// <param name="modality">text, image or audio.</param>
    /// <param name="count">Inputs in the call.</param>
    /// <param name="space">The generator's space (null while it is still loading).</param>
    public static Activity? StartEmbed(string modality, int count, EmbeddingSpace? space)
    {
        if (Inputs.Enabled)
        {
            Inputs.Add(count, new KeyValuePair<string, object?>("omnivec.modality", modality));
        }

        Activity? activity = Source.StartActivity("omnivec.embed");
        if (activity is not null)
        {
            activity.SetTag("omnivec.modality", modality);
            activity.SetTag("omnivec.input.count", count);
            // Null during the load-time probes, before the generator knows its space.
            if (space is not null)
            {
                activity.SetTag("omnivec.model", space.ModelId);
                activity.SetTag("omnivec.dimensions", space.Dimensions);
            }
        }

        return activity;
    }

    /// <summary>Marks a span as failed with the exception's type (never its message, which may quote input).</summary>
    public static void Fail(Activity? activity, Exception error)
    {
        if (activity is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.GetType().Name);
            activity.SetTag("error.type", error.GetType().FullName);
        }
    }
}
