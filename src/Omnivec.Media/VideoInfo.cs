namespace Omnivec.Media;

/// <summary>What ffprobe says about a video file.</summary>
/// <param name="Container">The container as ffprobe names it (e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm").</param>
/// <param name="MediaType">The media type sniffed from the content (e.g. video/mp4).</param>
/// <param name="DurationSec">Duration in seconds (0 when the container does not say).</param>
/// <param name="FrameRate">Average frame rate (frames per second; 0 when unknown). Variable frame rate videos report their average.</param>
/// <param name="Width">Coded width in pixels, before rotation.</param>
/// <param name="Height">Coded height in pixels, before rotation.</param>
/// <param name="Rotation">Clockwise display rotation in degrees (0, 90, 180 or 270) from the display matrix or the rotate tag.</param>
/// <param name="VideoCodec">The video stream's codec (h264, hevc, vp9, av1, …).</param>
/// <param name="AudioCodec">The first audio stream's codec, or null when there is none.</param>
/// <param name="StreamIndex">Index of the video stream that is read.</param>
public sealed record VideoInfo(string Container, string MediaType, double DurationSec, double FrameRate, int Width, int Height, int Rotation,
    string VideoCodec, string? AudioCodec, int StreamIndex)
{
    /// <summary>Sample aspect ratio (pixel width / pixel height); 1 for square pixels.</summary>
    public double SampleAspectRatio { get; init; } = 1;

    /// <summary>Width as displayed: rotation applied and non-square pixels made square.</summary>
    public int DisplayWidth => Rotation is 90 or 270 ? Height : (int)Math.Round(Width * SampleAspectRatio);

    /// <summary>Height as displayed: rotation applied and non-square pixels made square.</summary>
    public int DisplayHeight => Rotation is 90 or 270 ? (int)Math.Round(Width * SampleAspectRatio) : Height;
}
