namespace Omnivec.Imaging;

/// <summary>Limits and hints for <see cref="ImageDecoder"/>.</summary>
public sealed class ImageDecoderOptions
{
    /// <summary>Largest width × height accepted; checked from the header before any pixel is decoded.</summary>
    public long MaxPixels { get; set; } = 100_000_000;

    /// <summary>Largest encoded input accepted, in bytes.</summary>
    public long MaxBytes { get; set; } = 256L << 20;

    /// <summary>
    /// JPEG reduced decoding (1/2, 1/4, 1/8 in the IDCT) is used only while the scaled short side stays at least this many
    /// times the requested short side; 0 disables it. At 4× the later bicubic downscale hides the difference (measured: see the report).
    /// </summary>
    public int ReducedDecodeFactor { get; set; } = 4;
}

/// <summary>What the header of an image says, read without decoding pixels.</summary>
/// <param name="Width">Width once the EXIF orientation is applied.</param>
/// <param name="Height">Height once the EXIF orientation is applied.</param>
/// <param name="Format">Container format, e.g. "jpeg", "png", "heic".</param>
/// <param name="Orientation">EXIF orientation 1-8 (1 when absent).</param>
/// <param name="FrameCount">Frames or pages (1 for still images).</param>
public sealed record ImageInfo(int Width, int Height, string Format, int Orientation, int FrameCount);
