using ImageMagick;

namespace Omnivec.Imaging;

/// <summary>
/// Formats Skia lacks on Linux (HEIC, AVIF, TIFF, PSD, TGA, QOI, JPEG 2000, PNM) through ImageMagick.
/// ImageMagick has many coders, some with a history of bugs, so it is only ever given bytes whose format we sniffed
/// ourselves, with that format named explicitly (never a path, URL or "coder:" prefix), one frame, and hard resource limits.
/// </summary>
internal static class MagickImageDecoder
{
    private static readonly Lock s_initLock = new();
    private static bool s_initialized;

    public static bool Handles(ImageFormat format) => ToMagickFormat(format) != MagickFormat.Unknown;

    public static ImageInfo Identify(ReadOnlySpan<byte> data, ImageFormat format, string? source)
    {
        EnsureLimits();
        try
        {
            using var image = new MagickImage();
            image.Ping(data, Settings(format, frameCount: 1));
            int orientation = Orientation.Normalize((int)image.Orientation);
            (int w, int h) = Orientation.SwapsAxes(orientation) ? ((int)image.Height, (int)image.Width) : ((int)image.Width, (int)image.Height);
            int frames = 1;
            if (format is ImageFormat.Tiff or ImageFormat.BigTiff or ImageFormat.Avif)
            {
                // Pinging every page reads no pixels, and ResourceLimits.ListLength bounds the page count.
                try
                {
                    using var all = new MagickImageCollection();
                    all.Ping(data, Settings(format, frameCount: null));
                    frames = Math.Max(all.Count, 1);
                }
                catch (MagickResourceLimitErrorException)
                {
                    frames = (int)ResourceLimits.ListLength; // more pages than the list limit: report the limit as a lower bound
                }
            }

            return new ImageInfo(w, h, ImageHeader.Name(format), orientation, frames);
        }
        catch (MagickException e)
        {
            throw Translate(e, source);
        }
    }

    public static RgbImage Decode(ReadOnlySpan<byte> data, ImageFormat format, string? source, long maxPixels, CancellationToken cancellationToken)
    {
        EnsureLimits();
        MagickReadSettings settings = Settings(format, frameCount: 1);
        using var image = new MagickImage();
        EventHandler<ProgressEventArgs> onProgress = (_, e) =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                e.Cancel = true;
            }
        };
        try
        {
            // Header only: refuse oversized images before a single pixel is allocated.
            image.Ping(data, settings);
            if (image.Width == 0 || image.Height == 0)
            {
                throw new CorruptImageException($"header declares an empty {image.Width}x{image.Height} image", source);
            }

            if ((long)image.Width * image.Height > maxPixels)
            {
                throw new ImageTooLargeException(image.Width, image.Height, maxPixels, source);
            }

            cancellationToken.ThrowIfCancellationRequested();
            image.Progress += onProgress;
            image.Read(data, settings);
            image.Progress -= onProgress;
            cancellationToken.ThrowIfCancellationRequested();
            if ((long)image.Width * image.Height > maxPixels)
            {
                throw new ImageTooLargeException(image.Width, image.Height, maxPixels, source);
            }

            // EXIF orientation (HEIF/AVIF irot/imir are already applied by libheif), then plain 8-bit sRGB.
            // Like Pillow, no ICC conversion: only non-RGB colour models are mapped to RGB.
            image.AutoOrient();
            if (image.ColorSpace is not (ColorSpace.sRGB or ColorSpace.RGB or ColorSpace.Gray or ColorSpace.LinearGray or ColorSpace.Transparent))
            {
                image.ColorSpace = ColorSpace.sRGB;
            }

            int width = (int)image.Width, height = (int)image.Height;
            using IPixelCollection<byte> pixels = image.GetPixelsUnsafe();
            byte[]? rgb = pixels.ToByteArray(PixelMapping.RGB);
            if (rgb is null || rgb.Length < (long)width * height * 3)
            {
                throw new CorruptImageException("ImageMagick returned no pixels", source);
            }

            RgbImage result = RgbImage.Allocate(width, height);
            rgb.AsSpan(0, width * height * 3).CopyTo(result.Pixels);
            return result;
        }
        catch (MagickException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw Translate(e, source);
        }
        finally
        {
            image.Progress -= onProgress;
        }
    }

    private static MagickReadSettings Settings(ImageFormat format, uint? frameCount) => new()
    {
        Format = ToMagickFormat(format),
        FrameIndex = frameCount is null ? null : 0,
        FrameCount = frameCount,
    };

    private static MagickFormat ToMagickFormat(ImageFormat format) => format switch
    {
        ImageFormat.Heic => MagickFormat.Heic,
        ImageFormat.Avif => MagickFormat.Avif,
        ImageFormat.Tiff => MagickFormat.Tiff,
        ImageFormat.BigTiff => MagickFormat.Tiff64,
        ImageFormat.Psd => MagickFormat.Psd,
        ImageFormat.Qoi => MagickFormat.Qoi,
        ImageFormat.Jpeg2000 => MagickFormat.Jp2,
        ImageFormat.Jpeg2000Codestream => MagickFormat.J2k,
        ImageFormat.Pnm => MagickFormat.Pnm,
        ImageFormat.Tga => MagickFormat.Tga,
        _ => MagickFormat.Unknown,
    };

    /// <summary>
    /// Process-wide ImageMagick limits, set once. The per-call pixel limit is enforced by pinging first; these are the backstop
    /// for coders that allocate more than the header promised. Disk = 0 stops the pixel cache from spilling to temp files.
    /// ResourceLimits.Time is not set: it counts from process start, so it would break a long-running server.
    /// </summary>
    private static void EnsureLimits()
    {
        if (Volatile.Read(ref s_initialized))
        {
            return;
        }

        lock (s_initLock)
        {
            if (s_initialized)
            {
                return;
            }

            ResourceLimits.Width = 1u << 17;
            ResourceLimits.Height = 1u << 17;
            ResourceLimits.Area = 1UL << 29;
            ResourceLimits.Memory = 2UL << 30;
            ResourceLimits.MaxMemoryRequest = 1UL << 30;
            ResourceLimits.Disk = 0;
            ResourceLimits.ListLength = 64;
            ResourceLimits.MaxProfileSize = 16UL << 20;
            Volatile.Write(ref s_initialized, true);
        }
    }

    /// <summary>Maps ImageMagick's exceptions to Omnivec's typed errors so none escapes.</summary>
    private static ImageDecodeException Translate(MagickException e, string? source) => e switch
    {
        MagickResourceLimitErrorException => new ImageDecodeException(ImageErrorKind.TooLarge, "the image exceeds the decoder's resource limits: " + FirstLine(e.Message), source, e),
        MagickMissingDelegateErrorException => new UnsupportedImageFormatException("no decoder for this format in this build: " + FirstLine(e.Message), source, e),
        _ => new CorruptImageException(FirstLine(e.Message), source, e),
    };

    private static string FirstLine(string message)
    {
        int i = message.IndexOf('\n', StringComparison.Ordinal);
        return i < 0 ? message : message[..i];
    }
}
