namespace Omnivec;

/// <summary>Why an image could not be turned into pixels.</summary>
public enum ImageErrorKind
{
    /// <summary>The bytes are not an image format any decoder here reads.</summary>
    UnsupportedFormat,
    /// <summary>The format is known but the data is broken (truncated, bad header, bad checksum).</summary>
    Corrupt,
    /// <summary>The declared or decoded size exceeds the configured pixel limit.</summary>
    TooLarge,
    /// <summary>The file is empty.</summary>
    Empty,
}

/// <summary>An image that could not be decoded. <see cref="Kind"/> says why; the message says it to a person.</summary>
public class ImageDecodeException : InvalidInputException
{
    /// <summary>Creates the error; <paramref name="source"/> (a file name or URL), when given, prefixes the message.</summary>
    public ImageDecodeException(ImageErrorKind kind, string message, string? source = null, Exception? innerException = null)
        : base(source is null ? message : $"{source}: {message}", innerException)
    {
        Kind = kind;
        Source = source;
    }

    /// <summary>Why the image could not be decoded.</summary>
    public ImageErrorKind Kind { get; }

    /// <summary>The file name or description of the input, when known.</summary>
    public new string? Source { get; }
}

/// <summary>The bytes are not in a format Omnivec can decode.</summary>
public sealed class UnsupportedImageFormatException : ImageDecodeException
{
    /// <summary>Creates the error for a format Omnivec does not decode.</summary>
    public UnsupportedImageFormatException(string message, string? source = null, Exception? innerException = null)
        : base(ImageErrorKind.UnsupportedFormat, message, source, innerException) { }
}

/// <summary>The image is larger than the pixel limit; refused before its pixels were decoded.</summary>
public sealed class ImageTooLargeException : ImageDecodeException
{
    /// <summary>Creates the error for an image whose header declares more pixels than allowed.</summary>
    public ImageTooLargeException(long width, long height, long maxPixels, string? source = null)
        : base(ImageErrorKind.TooLarge, $"image is {width}x{height} ({width * height:N0} pixels), above the limit of {maxPixels:N0} pixels", source)
    {
        Width = width;
        Height = height;
        MaxPixels = maxPixels;
    }

    /// <summary>The width the image declares.</summary>
    public long Width { get; }
    /// <summary>The height the image declares.</summary>
    public long Height { get; }
    /// <summary>The configured limit on width × height.</summary>
    public long MaxPixels { get; }
}

/// <summary>The image data is damaged.</summary>
public sealed class CorruptImageException : ImageDecodeException
{
    /// <summary>Creates the error for bytes that claim a known format but do not decode.</summary>
    public CorruptImageException(string message, string? source = null, Exception? innerException = null)
        : base(ImageErrorKind.Corrupt, message, source, innerException) { }
}
