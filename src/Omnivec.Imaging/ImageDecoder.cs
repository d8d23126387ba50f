using System.Buffers;

namespace Omnivec.Imaging;

/// <summary>
/// Turns encoded image bytes into upright 8-bit RGB. Skia decodes the common web formats; ImageMagick, tightly fenced,
/// decodes the rest (HEIC, AVIF, TIFF, PSD, TGA, QOI, JPEG 2000, PNM). Every failure is an <see cref="ImageDecodeException"/>;
/// instances are immutable and safe to share between threads.
/// </summary>
public sealed class ImageDecoder
{
    private readonly long _maxPixels;
    private readonly long _maxBytes;
    private readonly double _reducedDecodeFactor;

    /// <summary>Creates a decoder with the given limits (defaults when null).</summary>
    public ImageDecoder(ImageDecoderOptions? options = null)
    {
        options ??= new ImageDecoderOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxPixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxBytes, Array.MaxLength); // inputs are read into one array
        ArgumentOutOfRangeException.ThrowIfNegative(options.ReducedDecodeFactor);
        if (!double.IsFinite(options.ReducedDecodeFactor))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ReducedDecodeFactor, "ReducedDecodeFactor must be a finite number");
        }

        // Copied so a caller mutating the options object later cannot change a decoder in use on other threads.
        _maxPixels = options.MaxPixels;
        _maxBytes = options.MaxBytes;
        _reducedDecodeFactor = options.ReducedDecodeFactor;
    }

    /// <summary>Reads dimensions, format, orientation and frame count from the header, without decoding pixels.</summary>
    public ImageInfo Identify(ReadOnlySpan<byte> data, string? source = null)
    {
        ImageFormat format = Check(data, source);
        try
        {
            return MagickImageDecoder.Handles(format)
                ? MagickImageDecoder.Identify(data, format, source)
                : SkiaImageDecoder.Identify(data, format, source);
        }
        catch (Exception e) when (IsForeign(e))
        {
            throw new CorruptImageException("the image header could not be read: " + e.Message, source, e);
        }
    }

    /// <summary>
    /// Decodes the first frame to upright RGB (EXIF orientation applied, alpha dropped, no colour management).
    /// <paramref name="targetShortSide"/> (e.g. the model's 224) lets JPEGs decode at 1/2-1/8 scale while the short side stays
    /// at least <see cref="ImageDecoderOptions.ReducedDecodeFactor"/> times it; 0 always decodes at full size.
    /// </summary>
    public RgbImage Decode(ReadOnlySpan<byte> data, string? source = null, int targetShortSide = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(targetShortSide);
        bool timed = ImagingTelemetry.DecodeDuration.Enabled;
        long started = timed ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        ImageFormat format = Check(data, source);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            RgbImage image = MagickImageDecoder.Handles(format)
                ? MagickImageDecoder.Decode(data, format, source, _maxPixels, cancellationToken)
                : SkiaImageDecoder.Decode(data, format, source, _maxPixels, targetShortSide, _reducedDecodeFactor, cancellationToken);
            if (timed)
            {
                ImagingTelemetry.DecodeDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds,
                    new KeyValuePair<string, object?>("omnivec.image.format", format.ToString()));
            }

            return image;
        }
        catch (Exception e) when (IsForeign(e))
        {
            throw new CorruptImageException("the image could not be decoded: " + e.Message, source, e);
        }
    }

    /// <summary>
    /// Decodes a JPEG at exactly 1/<paramref name="denominator"/> scale in the IDCT (1, 2, 4 or 8), whatever the target;
    /// other formats decode at full size. For measuring what each reduction costs in fidelity (bench/Omnivec.Bench decodefactors).
    /// </summary>
    internal RgbImage DecodeAtScale(ReadOnlySpan<byte> data, int denominator, string? source = null)
    {
        if (denominator is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(denominator), denominator, "JPEG scaling is 1/1, 1/2, 1/4 or 1/8");
        }

        ImageFormat format = Check(data, source);
        try
        {
            return MagickImageDecoder.Handles(format)
                ? MagickImageDecoder.Decode(data, format, source, _maxPixels, CancellationToken.None)
                : SkiaImageDecoder.Decode(data, format, source, _maxPixels, 0, 0, CancellationToken.None, denominator);
        }
        catch (Exception e) when (IsForeign(e))
        {
            throw new CorruptImageException("the image could not be decoded: " + e.Message, source, e);
        }
    }

    /// <summary>Reads and decodes a file; the file name is only used in messages, never to pick the format.</summary>
    public RgbImage DecodeFile(string path, int targetShortSide = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string source = Path.GetFileName(path);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = RandomAccess.GetLength(handle);
        if (length > _maxBytes)
        {
            throw TooManyBytes(length, source);
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
        try
        {
            int read = 0;
            while (read < length)
            {
                int n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            return Decode(buffer.AsSpan(0, read), source, targetShortSide, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ImageFormat Check(ReadOnlySpan<byte> data, string? source)
    {
        if (data.IsEmpty)
        {
            throw new ImageDecodeException(ImageErrorKind.Empty, "the image is empty (0 bytes)", source);
        }

        if (data.Length > _maxBytes)
        {
            throw TooManyBytes(data.Length, source);
        }

        ImageFormat format = ImageHeader.Sniff(data);
        if (format == ImageFormat.Unknown)
        {
            throw new UnsupportedImageFormatException(
                "not a recognised image format (supported: JPEG, PNG, GIF, WebP, BMP, ICO/CUR, HEIC, AVIF, TIFF, PSD, TGA, QOI, JPEG 2000, PNM)", source);
        }

        return format;
    }

    private ImageDecodeException TooManyBytes(long length, string? source) =>
        new(ImageErrorKind.TooLarge, $"the encoded image is {length:N0} bytes, above the limit of {_maxBytes:N0} bytes", source);

    /// <summary>Anything a native wrapper throws is reported as corrupt input; our own errors and cancellation pass through.</summary>
    private static bool IsForeign(Exception e) =>
        e is not (OmnivecException or OperationCanceledException or OutOfMemoryException);
}
