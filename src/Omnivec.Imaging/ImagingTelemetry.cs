using System.Diagnostics.Metrics;

namespace Omnivec.Imaging;

/// <summary>Image decoding's instruments (names in <see cref="OmnivecTelemetry"/>); free when nobody listens.</summary>
internal static class ImagingTelemetry
{
    public static readonly Meter Meter = new(OmnivecTelemetry.MeterName, typeof(ImagingTelemetry).Assembly.GetName().Version?.ToString());

    public static readonly Histogram<double> DecodeDuration = Meter.CreateHistogram("omnivec.image.decode.duration", "s",
        "Time to decode one image to upright RGB (header check, decode, orientation).", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
}
