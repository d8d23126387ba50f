using System.Runtime.InteropServices;
using SkiaSharp;

namespace Omnivec.Imaging;

/// <summary>
/// Renders small upright JPEG thumbnails while holding as little of the full image as the format allows: JPEG and WebP
/// decode at reduced scale, PNG, GIF, BMP and ICO are read row by row and box-averaged on the fly, so a 40-megapixel
/// photo never sits in memory at full size. Pixel buffers are native and freed at once (not pooled), so memory goes back
/// after a burst. Formats only ImageMagick reads (HEIC, TIFF, …) go through <see cref="ImageDecoder"/> at full size.
/// Transparent pixels are shown over white. Instances are immutable and safe to share between threads.
/// </summary>
public sealed class ThumbnailRenderer
{
    private readonly ImageDecoder _decoder;
    private readonly long _maxPixels;
    private readonly long _maxBytes;

    /// <summary>Creates a renderer with the decoder limits of <paramref name="options"/> (pixel and byte caps).</summary>
    public ThumbnailRenderer(ImageDecoderOptions? options = null)
    {
        options ??= new ImageDecoderOptions();
        _decoder = new ImageDecoder(options);
        _maxPixels = options.MaxPixels;
        _maxBytes = options.MaxBytes;
    }

    /// <summary>Renders the file at <paramref name="path"/> (mapped, not copied into managed memory); see <see cref="Render"/>.</summary>
    public byte[] RenderFile(string path, int size, int quality = 85, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string source = Path.GetFileName(path);
        long length = new FileInfo(path).Length;
        if (length > _maxBytes)
        {
            throw new ImageDecodeException(ImageErrorKind.TooLarge, $"the encoded image is {length:N0} bytes, above the limit of {_maxBytes:N0} bytes", source);
        }

        using SKData data = (length > 0 ? SKData.Create(path) : null) ?? throw new ImageDecodeException(ImageErrorKind.Empty, "the image is empty (0 bytes)", source);
        return RenderData(data, size, quality, source, cancellationToken);
    }

    /// <summary>
    /// A JPEG whose longer side is <paramref name="size"/> pixels (or the image's own size when smaller), upright
    /// (EXIF orientation applied), resized with a Mitchell cubic filter.
    /// </summary>
    public byte[] Render(ReadOnlySpan<byte> data, int size, int quality = 85, string? source = null, CancellationToken cancellationToken = default)
    {
        if (data.IsEmpty)
        {
            throw new ImageDecodeException(ImageErrorKind.Empty, "the image is empty (0 bytes)", source);
        }

        using SKData copy = SKData.CreateCopy(data);
        return RenderData(copy, size, quality, source, cancellationToken);
    }

    private byte[] RenderData(SKData skData, int size, int quality, string? source, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(quality);
        ReadOnlySpan<byte> data = skData.AsSpan();
        ImageFormat format = ImageHeader.Sniff(data);
        if (format == ImageFormat.Unknown || MagickImageDecoder.Handles(format))
        {
            using RgbImage rgb = _decoder.Decode(data, source, targetShortSide: size, cancellationToken);
            using SKBitmap fromRgb = ToBitmap(rgb);
            return Finish(fromRgb, 1, size, quality);
        }

        try
        {
            using SKCodec codec = SKCodec.Create(skData) ?? throw new CorruptImageException($"the {ImageHeader.Name(format)} header could not be read", source);
            SKImageInfo declared = codec.Info;
            if (declared.Width <= 0 || declared.Height <= 0)
            {
                throw new CorruptImageException($"header declares an empty {declared.Width}x{declared.Height} image", source);
            }

            if ((long)declared.Width * declared.Height > _maxPixels)
            {
                throw new ImageTooLargeException(declared.Width, declared.Height, _maxPixels, source);
            }

            int fromCodec = Orientation.Normalize((int)codec.EncodedOrigin);
            int orientation = fromCodec == 1 && format == ImageFormat.WebP ? PhotoMetadata.ReadOrientation(data) : fromCodec;
            cancellationToken.ThrowIfCancellationRequested();
            using SKBitmap reduced = DecodeReduced(codec, format, size, source, cancellationToken);
            return Finish(reduced, orientation, size, quality);
        }
        catch (Exception e) when (e is not (OmnivecException or OperationCanceledException or OutOfMemoryException))
        {
            throw new CorruptImageException("the image could not be decoded: " + e.Message, source, e);
        }
    }

    /// <summary>
    /// The image at no less than twice the thumbnail's size where that saves memory (so the cubic filter still averages
    /// several pixels per output pixel), premultiplied RGBA.
    /// </summary>
    private static SKBitmap DecodeReduced(SKCodec codec, ImageFormat format, int size, string? source, CancellationToken cancellationToken)
    {
        SKSizeI full = codec.Info.Size;
        int longSide = Math.Max(full.Width, full.Height);
        long wanted = 2L * size;
        if (longSide <= wanted)
        {
            return DecodeWhole(codec, full, source);
        }

        if (format is ImageFormat.Jpeg or ImageFormat.WebP)
        {
            // JPEG: the IDCT scales 1/8 … 7/8; WebP: any scale. The codec rounds to what it supports.
            SKSizeI best = full;
            foreach (float scale in (ReadOnlySpan<float>)[0.125f, 0.25f, 0.375f, 0.5f, 0.625f, 0.75f, 0.875f, (float)wanted / longSide])
            {
                SKSizeI scaled = codec.GetScaledDimensions(scale);
                if (scaled.Width > 0 && scaled.Height > 0 && Math.Max(scaled.Width, scaled.Height) >= wanted
                    && (long)scaled.Width * scaled.Height < (long)best.Width * best.Height)
                {
                    best = scaled;
                }
            }

            return DecodeWhole(codec, best, source);
        }

        int factor = (int)(longSide / wanted);
        return factor >= 2 ? DecodeRowsAveraged(codec, factor, source, cancellationToken) ?? DecodeWhole(codec, full, source) : DecodeWhole(codec, full, source);
    }

    private static SKBitmap DecodeWhole(SKCodec codec, SKSizeI size, string? source)
    {
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        try
        {
            SKCodecResult result = codec.GetPixels(info, bitmap.GetPixels(), new SKCodecOptions(0));
            if (result != SKCodecResult.Success)
            {
                throw new CorruptImageException(result == SKCodecResult.IncompleteInput
                    ? "the data ends before the image does (truncated file)" : $"decoding failed ({result})", source);
            }

            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the image one row at a time and averages each <paramref name="factor"/> × <paramref name="factor"/> block into
    /// one pixel: memory is one source row, one row of sums and the reduced image. Null when the codec cannot decode by rows.
    /// </summary>
    private static SKBitmap? DecodeRowsAveraged(SKCodec codec, int factor, string? source, CancellationToken cancellationToken)
    {
        int width = codec.Info.Width, height = codec.Info.Height;
        var rowInfo = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        if (codec.StartScanlineDecode(rowInfo) != SKCodecResult.Success)
        {
            return null;
        }

        int outWidth = (width + factor - 1) / factor, outHeight = (height + factor - 1) / factor;
        var bitmap = new SKBitmap(new SKImageInfo(outWidth, outHeight, SKColorType.Rgba8888, SKAlphaType.Premul));
        IntPtr pixels = bitmap.GetPixels();
        byte[] outRow = new byte[outWidth * 4];
        byte[] row = new byte[checked(width * 4)];
        ulong[] sums = new ulong[outWidth * 4];
        int block = -1, rowsInBlock = 0;
        GCHandle pin = GCHandle.Alloc(row, GCHandleType.Pinned);
        try
        {
            for (int i = 0; i < height; i++)
            {
                if ((i & 63) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                int y = codec.NextScanline;
                if (codec.GetScanlines(pin.AddrOfPinnedObject(), 1, width * 4) != 1)
                {
                    throw new CorruptImageException("the data ends before the image does (truncated file)", source);
                }

                if (y < 0 || y >= height)
                {
                    continue;
                }

                if (y / factor != block)
                {
                    Flush(block, rowsInBlock);
                    block = y / factor;
                    rowsInBlock = 0;
                }

                rowsInBlock++;
                for (int x = 0; x < width; x++)
                {
                    int s = x * 4, d = x / factor * 4;
                    sums[d] += row[s];
                    sums[d + 1] += row[s + 1];
                    sums[d + 2] += row[s + 2];
                    sums[d + 3] += row[s + 3];
                }
            }

            Flush(block, rowsInBlock);
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
        finally
        {
            pin.Free();
        }

        return bitmap;

        void Flush(int blockRow, int rows)
        {
            if (blockRow < 0 || rows == 0)
            {
                return;
            }

            for (int ox = 0; ox < outWidth; ox++)
            {
                ulong n = (ulong)rows * (ulong)Math.Min(factor, width - ox * factor);
                for (int c = 0; c < 4; c++)
                {
                    outRow[ox * 4 + c] = (byte)((sums[ox * 4 + c] + n / 2) / n);
                }
            }

            Marshal.Copy(outRow, 0, pixels + blockRow * bitmap.RowBytes, outRow.Length);
            Array.Clear(sums);
        }
    }

    /// <summary>Resizes to the thumbnail, turns it upright, lays it over white and encodes it.</summary>
    private static byte[] Finish(SKBitmap image, int orientation, int size, int quality)
    {
        double scale = Math.Min(1.0, (double)size / Math.Max(image.Width, image.Height));
        int width = Math.Max(1, (int)Math.Round(image.Width * scale));
        int height = Math.Max(1, (int)Math.Round(image.Height * scale));
        bool swap = Orientation.SwapsAxes(orientation);
        using var target = new SKBitmap(new SKImageInfo(swap ? height : width, swap ? width : height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(target))
        {
            canvas.Clear(SKColors.White);
            canvas.SetMatrix(OrientationMatrix(orientation, width, height));
            using SKPixmap pixmap = image.PeekPixels();
            using SKImage source = SKImage.FromPixels(pixmap); // no copy of the (possibly large) decoded pixels
            // Mitchell cubic: sharp without ringing; plain bilinear would alias when shrinking a large photo.
            canvas.DrawImage(source, new SKRect(0, 0, width, height), new SKSamplingOptions(SKCubicResampler.Mitchell));
        }

        using SKData data = target.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }

    /// <summary>Maps the stored image (<paramref name="w"/> × <paramref name="h"/>) onto the upright canvas, for EXIF orientations 1-8.</summary>
    internal static SKMatrix OrientationMatrix(int orientation, int w, int h) => Orientation.Normalize(orientation) switch
    {
        2 => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
        3 => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
        4 => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
        5 => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
        6 => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
        7 => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
        8 => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
        _ => SKMatrix.Identity,
    };

    private static SKBitmap ToBitmap(RgbImage image)
    {
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        byte[] rgba = new byte[image.Width * 4];
        IntPtr target = bitmap.GetPixels();
        for (int y = 0; y < image.Height; y++)
        {
            ReadOnlySpan<byte> rgb = image.Pixels.Slice(y * image.Width * 3, image.Width * 3);
            for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4)
            {
                rgba[q] = rgb[p];
                rgba[q + 1] = rgb[p + 1];
                rgba[q + 2] = rgb[p + 2];
                rgba[q + 3] = 255;
            }

            Marshal.Copy(rgba, 0, target + y * bitmap.RowBytes, rgba.Length);
        }

        return bitmap;
    }
}
