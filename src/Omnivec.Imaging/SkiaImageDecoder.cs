using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace Omnivec.Imaging;

/// <summary>JPEG, PNG, GIF, WebP, BMP and ICO/CUR through Skia's codecs.</summary>
internal static class SkiaImageDecoder
{
    public static ImageInfo Identify(ReadOnlySpan<byte> data, ImageFormat format, string? source)
    {
        using SKData skData = SKData.CreateCopy(data);
        using SKCodec codec = CreateCodec(skData, format, source);
        int orientation = GetOrientation(codec, data, format);
        SKImageInfo info = codec.Info;
        (int w, int h) = Orientation.SwapsAxes(orientation) ? (info.Height, info.Width) : (info.Width, info.Height);
        return new ImageInfo(w, h, ImageHeader.Name(format), orientation, Math.Max(codec.FrameCount, 1));
    }

    public static RgbImage Decode(ReadOnlySpan<byte> data, ImageFormat format, string? source, long maxPixels, int targetShortSide, double reducedDecodeFactor, CancellationToken cancellationToken,
        int forcedScaleDenominator = 0)
    {
        using SKData skData = SKData.CreateCopy(data);
        using SKCodec codec = CreateCodec(skData, format, source);
        SKImageInfo declared = codec.Info;
        // Refuse before anything proportional to the image is allocated (the codec has only parsed the header so far).
        if (declared.Width <= 0 || declared.Height <= 0)
        {
            throw new CorruptImageException($"header declares an empty {declared.Width}x{declared.Height} image", source);
        }

        if ((long)declared.Width * declared.Height > maxPixels)
        {
            throw new ImageTooLargeException(declared.Width, declared.Height, maxPixels, source);
        }

        int orientation = GetOrientation(codec, data, format);
        SKSizeI size = forcedScaleDenominator > 1 && format == ImageFormat.Jpeg
            ? codec.GetScaledDimensions(1f / forcedScaleDenominator)
            : ChooseDecodeSize(codec, format, targetShortSide, reducedDecodeFactor);
        cancellationToken.ThrowIfCancellationRequested();

        // No colour space on the target: Skia then skips colour management, like Pillow, which ignores ICC profiles.
        var target = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        int byteCount = checked(size.Width * size.Height * 4);
        byte[] rgba = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            SKCodecResult result;
            GCHandle pin = GCHandle.Alloc(rgba, GCHandleType.Pinned);
            try
            {
                // Frame 0 only: animated GIF/WebP/APNG give their first frame, as Pillow does without seek().
                result = codec.GetPixels(target, pin.AddrOfPinnedObject(), target.RowBytes, new SKCodecOptions(0));
            }
            finally
            {
                pin.Free();
            }

            // Policy for damaged data: Skia fills what it could not read and says IncompleteInput/ErrorInInput.
            // Pillow raises on truncated images by default (LOAD_TRUNCATED_IMAGES is off), and embedding a half-grey
            // picture silently is worse than an error, so both are reported as corrupt.
            if (result != SKCodecResult.Success)
            {
                throw new CorruptImageException(Describe(result), source);
            }

            if (format == ImageFormat.Jpeg && JpegStructure.IsTruncatedProgressive(data))
            {
                throw new CorruptImageException(Describe(SKCodecResult.IncompleteInput), source);
            }

            cancellationToken.ThrowIfCancellationRequested();
            (int outW, int outH) = Orientation.SwapsAxes(orientation) ? (size.Height, size.Width) : (size.Width, size.Height);
            RgbImage image = RgbImage.Allocate(outW, outH);
            try
            {
                Orientation.CopyUpright(rgba.AsSpan(0, byteCount), size.Width, size.Height, 4, orientation, image, cancellationToken);
                return image;
            }
            catch
            {
                image.Dispose();
                throw;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    /// <summary>
    /// The smallest JPEG IDCT scale whose short side stays at least <paramref name="factor"/> × the target, so the later
    /// bicubic reduction still averages several source pixels per output pixel. Other formats always decode at full size.
    /// </summary>
    internal static SKSizeI ChooseDecodeSize(SKCodec codec, ImageFormat format, int targetShortSide, double factor)
    {
        SKSizeI full = codec.Info.Size;
        if (format != ImageFormat.Jpeg || targetShortSide <= 0 || factor <= 0)
        {
            return full;
        }

        double needed = targetShortSide * factor;
        foreach (float scale in (ReadOnlySpan<float>)[0.125f, 0.25f, 0.5f])
        {
            SKSizeI scaled = codec.GetScaledDimensions(scale);
            if (scaled.Width > 0 && scaled.Height > 0 && scaled.Width < full.Width && Math.Min(scaled.Width, scaled.Height) >= needed)
            {
                return scaled;
            }
        }

        return full;
    }

    private static SKCodec CreateCodec(SKData data, ImageFormat format, string? source)
    {
        SKCodec? codec = SKCodec.Create(data);
        if (codec is null)
        {
            // The magic bytes matched a format Skia reads, so a refusal here means a broken header.
            throw new CorruptImageException($"the {ImageHeader.Name(format)} header could not be read", source);
        }

        return codec;
    }

    private static int GetOrientation(SKCodec codec, ReadOnlySpan<byte> data, ImageFormat format)
    {
        // Skia reads EXIF orientation from JPEG (and HEIF/PNG eXIf where supported) but not from WebP's EXIF chunk.
        int fromCodec = Orientation.Normalize((int)codec.EncodedOrigin);
        return fromCodec == 1 && format == ImageFormat.WebP ? PhotoMetadata.ReadOrientation(data) : fromCodec;
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the data ends before the image does (truncated file)",
        SKCodecResult.ErrorInInput => "the image data is damaged",
        _ => $"decoding failed ({result})",
    };
}
