using System.Runtime.Intrinsics;

namespace Omnivec.Imaging;

/// <summary>Applies an EXIF orientation while copying decoded pixels into an upright <see cref="RgbImage"/>.</summary>
internal static class Orientation
{
    /// <summary>Orientations 5-8 swap width and height.</summary>
    public static bool SwapsAxes(int orientation) => orientation is >= 5 and <= 8;

    /// <summary>Out-of-range values (0, 9, garbage) mean "as stored", as in every viewer.</summary>
    public static int Normalize(int orientation) => orientation is >= 1 and <= 8 ? orientation : 1;

    /// <summary>
    /// Copies <paramref name="source"/> (stored <paramref name="width"/> × <paramref name="height"/>, <paramref name="bytesPerPixel"/> bytes
    /// a pixel, first three R,G,B) into <paramref name="destination"/> upright, dropping any 4th channel (Pillow's convert("RGB") drops alpha too).
    /// </summary>
    public static void CopyUpright(ReadOnlySpan<byte> source, int width, int height, int bytesPerPixel, int orientation, RgbImage destination, CancellationToken cancellationToken)
    {
        // Display pixel (x, y) reads stored pixel origin + x * dx + y * dy (in pixels).
        (long origin, long dx, long dy) = Normalize(orientation) switch
        {
            2 => (width - 1L, -1L, (long)width),
            3 => ((height - 1L) * width + width - 1, -1L, -(long)width),
            4 => ((height - 1L) * width, 1L, -(long)width),
            5 => (0L, (long)width, 1L),
            6 => ((height - 1L) * width, -(long)width, 1L),
            7 => ((height - 1L) * width + width - 1, -(long)width, -1L),
            8 => (width - 1L, (long)width, -1L),
            _ => (0L, 1L, (long)width),
        };

        int outWidth = destination.Width, outHeight = destination.Height;
        Span<byte> dst = destination.Pixels;
        for (int y = 0; y < outHeight; y++)
        {
            if ((y & 255) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            Span<byte> row = dst.Slice(y * outWidth * 3, outWidth * 3);
            long p = origin + y * dy;
            if (dx == 1)
            {
                ReadOnlySpan<byte> src = source.Slice((int)(p * bytesPerPixel), outWidth * bytesPerPixel);
                if (bytesPerPixel == 3)
                {
                    src.CopyTo(row);
                }
                else if (bytesPerPixel == 4)
                {
                    DropAlpha(src, row);
                }
                else
                {
                    for (int x = 0, s = 0, d = 0; x < outWidth; x++, s += bytesPerPixel, d += 3)
                    {
                        row[d] = src[s];
                        row[d + 1] = src[s + 1];
                        row[d + 2] = src[s + 2];
                    }
                }

                continue;
            }

            for (int x = 0, d = 0; x < outWidth; x++, d += 3, p += dx)
            {
                int s = (int)(p * bytesPerPixel);
                row[d] = source[s];
                row[d + 1] = source[s + 1];
                row[d + 2] = source[s + 2];
            }
        }
    }

    /// <summary>RGBA → RGB for one row: 4 pixels per 16-byte shuffle (12 useful bytes), scalar for the last few.</summary>
    private static void DropAlpha(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        int pixels = rgb.Length / 3, x = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<byte> indices = Vector128.Create((byte)0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0, 0, 0, 0);
            // Each store writes 16 bytes of which 12 are kept; stop while 16 bytes still fit in the destination.
            for (; x + 4 <= pixels && x * 3 + 16 <= rgb.Length; x += 4)
            {
                Vector128.Shuffle(Vector128.Create(rgba.Slice(x * 4, 16)), indices).CopyTo(rgb.Slice(x * 3, 16));
            }
        }

        for (; x < pixels; x++)
        {
            rgb[x * 3] = rgba[x * 4];
            rgb[x * 3 + 1] = rgba[x * 4 + 1];
            rgb[x * 3 + 2] = rgba[x * 4 + 2];
        }
    }
}
