using Omnivec.Imaging;
using SkiaSharp;

namespace Omnivec.Media;

/// <summary>JPEG encoding of RGB frames (thumbnails, and frames sent to embedders that take encoded images).</summary>
public static class Jpeg
{
    /// <summary>Encodes an RGB image as JPEG at the given quality (1-100).</summary>
    public static byte[] Encode(RgbImage image, int quality = 85)
    {
        ArgumentNullException.ThrowIfNull(image);
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        Span<byte> rgba = bitmap.GetPixelSpan();
        ReadOnlySpan<byte> rgb = image.Pixels;
        for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4)
        {
            rgba[q] = rgb[p];
            rgba[q + 1] = rgb[p + 1];
            rgba[q + 2] = rgb[p + 2];
            rgba[q + 3] = 255;
        }

        using SKData data = bitmap.Encode(SKEncodedImageFormat.Jpeg, Math.Clamp(quality, 1, 100));
        return data.ToArray();
    }
}
