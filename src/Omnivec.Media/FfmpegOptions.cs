namespace Omnivec.Media;

/// <summary>Where FFmpeg lives and the limits applied to every video.</summary>
public sealed class FfmpegOptions
{
    /// <summary>The ffmpeg executable: a name looked up on PATH or a full path. Default: $OMNIVEC_FFMPEG, else "ffmpeg".</summary>
    public string FfmpegPath { get; set; } = Environment.GetEnvironmentVariable("OMNIVEC_FFMPEG") is { Length: > 0 } p ? p : "ffmpeg";

    /// <summary>The ffprobe executable. Default: $OMNIVEC_FFPROBE, else "ffprobe".</summary>
    public string FfprobePath { get; set; } = Environment.GetEnvironmentVariable("OMNIVEC_FFPROBE") is { Length: > 0 } p ? p : "ffprobe";

    /// <summary>Longest ffprobe may run on one file before it is killed.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest one decode may stay silent (no frame produced) before ffmpeg is killed; guards against inputs that make the
    /// decoder spin without output.
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Largest coded width × height accepted (default 8192 × 8192); larger videos are refused before decoding.</summary>
    public long MaxPixels { get; set; } = 8192L * 8192;

    /// <summary>
    /// Longest video or audio accepted. Default: $OMNIVEC_MAX_DURATION seconds, else 4 hours. Files whose container says
    /// they are longer are refused before decoding; audio that decodes to more (a container that does not say, or lies)
    /// is stopped there with the same error.
    /// </summary>
    public TimeSpan MaxDuration { get; set; } = DefaultMaxDuration();

    private static TimeSpan DefaultMaxDuration() =>
        double.TryParse(Environment.GetEnvironmentVariable("OMNIVEC_MAX_DURATION"), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds > 0 && seconds < 1e9
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromHours(4);

    /// <summary>
    /// Threads FFmpeg's video decoder uses. 0 (the default) chooses per use: FFmpeg's own choice (about one per core) when
    /// decoding has the machine to itself, and half the cores (at least one) when a local model embeds the frames beside
    /// it (<see cref="VideoEmbedder"/> with an <see cref="Omnivec.Preprocessing.IRgbImageEmbedder"/>): on 2 cores one decoding
    /// thread beside the model is faster than both spread over both cores, as frame-threaded decoding spends about a
    /// quarter more CPU for the same frames (docs/benchmarks.md, section 6).
    /// </summary>
    public int DecodeThreads { get; set; }

    /// <summary>How many bytes of ffmpeg's stderr are kept for error messages (the tail).</summary>
    public int MaxStderrBytes { get; set; } = 8192;
}
