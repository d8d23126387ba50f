using System.Diagnostics.Metrics;

namespace Omnivec.Media;

/// <summary>Video decoding's instruments (names in <see cref="OmnivecTelemetry"/>); free when nobody listens.</summary>
internal static class MediaTelemetry
{
    public static readonly Meter Meter = new(OmnivecTelemetry.MeterName, typeof(MediaTelemetry).Assembly.GetName().Version?.ToString());

    public static readonly Histogram<double> VideoDecodeDuration = Meter.CreateHistogram("omnivec.video.decode.duration", "s",
        "Time spent decoding one video with FFmpeg and finding its shots (time its consumer spends on the segments excluded).", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] });
}
