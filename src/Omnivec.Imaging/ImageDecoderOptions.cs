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
    /// times the requested short side; 0 disables it. The default 1.5 was chosen by measuring, on the full-size ViT-B/32, the
    /// cosine of each JPEG's embedding to its full-decode embedding across factors (docs/benchmarks.md, "JPEG reduced
    /// decoding", <c>Omnivec.Bench decodefactors</c>): every measured JPEG stays within 0.99998 of its full decode at 1.5
    /// (0.99992 at 1), and a 4000×3000 photo decodes at 1/8 (500×375), as libvips does. Small test models react more (the
    /// 64-d test packs fall to about 0.9994 on one photo decoded at 1/2); set 0 where embeddings must match a full-decode
    /// reference exactly.
    /// </summary>
    public double ReducedDecodeFactor { get; set; } = 1.5;
}

/// <summary>What the header of an image says, read without decoding pixels.</summary>
/// <param name="Width">Width once the EXIF orientation is applied.</param>
/// <param name="Height">Height once the EXIF orientation is applied.</param>
/// <param name="Format">Container format, e.g. "jpeg", "png", "heic".</param>
/// <param name="Orientation">EXIF orientation 1-8 (1 when absent).</param>
/// <param name="FrameCount">Frames or pages (1 for still images).</param>
public sealed record ImageInfo(int Width, int Height, string Format, int Orientation, int FrameCount);
