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
    /// times the requested short side; 0 disables it. The default 2 was chosen by measurement (docs/benchmarks.md, "JPEG
    /// reduced decoding", <c>Omnivec.Bench decodefactors</c>): every measured JPEG stays within cosine 0.99999 of its
    /// full-decode embedding with the full-size ViT-B/32 and within 0.9999 with the test packs, and a 4000×3000 photo
    /// decodes at 1/4 (1000×750). Below 2 the test packs drop under 0.9999 on some photos.
    /// </summary>
    public double ReducedDecodeFactor { get; set; } = 2;
}

/// <summary>What the header of an image says, read without decoding pixels.</summary>
/// <param name="Width">Width once the EXIF orientation is applied.</param>
/// <param name="Height">Height once the EXIF orientation is applied.</param>
/// <param name="Format">Container format, e.g. "jpeg", "png", "heic".</param>
/// <param name="Orientation">EXIF orientation 1-8 (1 when absent).</param>
/// <param name="FrameCount">Frames or pages (1 for still images).</param>
public sealed record ImageInfo(int Width, int Height, string Format, int Orientation, int FrameCount);
