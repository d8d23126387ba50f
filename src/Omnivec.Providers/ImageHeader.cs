using System.Buffers.Binary;

namespace Omnivec.Providers;

internal enum ImageFormat
{
    Unknown,
    Png,
    Jpeg,
    Gif,
    Bmp,
    WebP,
    Tiff,
    Ico,
}

/// <summary>
/// Reads an image's format and pixel size from its first bytes, without decoding, so the service's limits can be
/// checked before an upload. Width and height are 0 when the format is known but its size is not read here (TIFF, ICO)
/// or the header is cut short.
/// </summary>
internal static class ImageHeader
{
    // Byte array, not a u8 literal: "\x89" in a string is U+0089, which UTF-8 would encode as two bytes.
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static ImageFormat Sniff(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 8 && data[..8].SequenceEqual(PngSignature))
        {
            return ImageFormat.Png;
        }

        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return ImageFormat.Jpeg;
        }

        if (data.Length >= 6 && (data[..6].SequenceEqual("GIF87a"u8) || data[..6].SequenceEqual("GIF89a"u8)))
        {
            return ImageFormat.Gif;
        }

        if (data.Length >= 2 && data[0] == (byte)'B' && data[1] == (byte)'M')
        {
            return ImageFormat.Bmp;
        }

        if (data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return ImageFormat.WebP;
        }

        if (data.Length >= 4 && (data[..4].SequenceEqual("II*\0"u8) || data[..4].SequenceEqual("MM\0*"u8)))
        {
            return ImageFormat.Tiff;
        }

        if (data.Length >= 4 && data[0] == 0 && data[1] == 0 && (data[2] == 1 || data[2] == 2) && data[3] == 0)
        {
            return ImageFormat.Ico;
        }

        return ImageFormat.Unknown;
    }

    public static string? MediaType(ImageFormat format) => format switch
    {
        ImageFormat.Png => "image/png",
        ImageFormat.Jpeg => "image/jpeg",
        ImageFormat.Gif => "image/gif",
        ImageFormat.Bmp => "image/bmp",
        ImageFormat.WebP => "image/webp",
        ImageFormat.Tiff => "image/tiff",
        ImageFormat.Ico => "image/x-icon",
        _ => null,
    };

    public static ImageFormat FromMediaType(string? mediaType) => mediaType?.Split(';')[0].Trim().ToUpperInvariant() switch
    {
        "IMAGE/PNG" => ImageFormat.Png,
        "IMAGE/JPEG" or "IMAGE/JPG" or "IMAGE/PJPEG" => ImageFormat.Jpeg,
        "IMAGE/GIF" => ImageFormat.Gif,
        "IMAGE/BMP" or "IMAGE/X-MS-BMP" => ImageFormat.Bmp,
        "IMAGE/WEBP" => ImageFormat.WebP,
        "IMAGE/TIFF" => ImageFormat.Tiff,
        "IMAGE/X-ICON" or "IMAGE/VND.MICROSOFT.ICON" => ImageFormat.Ico,
        _ => ImageFormat.Unknown,
    };

    /// <summary>Format and size; (0, 0) when the size is not available from the header.</summary>
    public static (ImageFormat Format, int Width, int Height) Identify(ReadOnlySpan<byte> data)
    {
        ImageFormat format = Sniff(data);
        (int w, int h) = format switch
        {
            ImageFormat.Png => Png(data),
            ImageFormat.Jpeg => Jpeg(data),
            ImageFormat.Gif => data.Length >= 10 ? (BinaryPrimitives.ReadUInt16LittleEndian(data[6..]), BinaryPrimitives.ReadUInt16LittleEndian(data[8..])) : (0, 0),
            ImageFormat.Bmp => Bmp(data),
            ImageFormat.WebP => WebP(data),
            _ => (0, 0),
        };
        return (format, w, h);
    }

    private static (int, int) Png(ReadOnlySpan<byte> d)
    {
        // Signature, then the IHDR chunk: length, "IHDR", width, height (big-endian).
        if (d.Length < 24 || !d[12..16].SequenceEqual("IHDR"u8))
        {
            return (0, 0);
        }

        return (ClampInt(BinaryPrimitives.ReadUInt32BigEndian(d[16..])), ClampInt(BinaryPrimitives.ReadUInt32BigEndian(d[20..])));
    }

    private static (int, int) Jpeg(ReadOnlySpan<byte> d)
    {
        int i = 2;
        while (i + 3 < d.Length)
        {
            if (d[i] != 0xFF)
            {
                return (0, 0);
            }

            byte marker = d[i + 1];
            if (marker == 0xFF)
            {
                i++; // fill byte
                continue;
            }

            if (marker is 0x01 or (>= 0xD0 and <= 0xD8))
            {
                i += 2; // markers without a length
                continue;
            }

            if (marker == 0xD9 || marker == 0xDA)
            {
                return (0, 0); // end of image or start of scan before any frame header
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 2)..]);
            bool isFrame = marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC;
            if (isFrame)
            {
                if (i + 9 > d.Length)
                {
                    return (0, 0);
                }

                int height = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 5)..]);
                int width = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 7)..]);
                return (width, height);
            }

            if (length < 2)
            {
                return (0, 0);
            }

            i += 2 + length;
        }

        return (0, 0);
    }

    private static (int, int) Bmp(ReadOnlySpan<byte> d)
    {
        if (d.Length < 26)
        {
            return (0, 0);
        }

        uint dibSize = BinaryPrimitives.ReadUInt32LittleEndian(d[14..]);
        if (dibSize == 12)
        {
            return (BinaryPrimitives.ReadUInt16LittleEndian(d[18..]), BinaryPrimitives.ReadUInt16LittleEndian(d[20..]));
        }

        int w = BinaryPrimitives.ReadInt32LittleEndian(d[18..]);
        int h = BinaryPrimitives.ReadInt32LittleEndian(d[22..]);
        // A negative height means rows run top-down.
        return (w < 0 ? 0 : w, h == int.MinValue ? 0 : Math.Abs(h));
    }

    private static (int, int) WebP(ReadOnlySpan<byte> d)
    {
        if (d.Length < 30)
        {
            return (0, 0);
        }

        ReadOnlySpan<byte> chunk = d[12..16];
        if (chunk.SequenceEqual("VP8 "u8))
        {
            // Lossy key frame: start code 9D 01 2A, then 14-bit width and height.
            if (d[23] != 0x9D || d[24] != 0x01 || d[25] != 0x2A)
            {
                return (0, 0);
            }

            return (BinaryPrimitives.ReadUInt16LittleEndian(d[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(d[28..]) & 0x3FFF);
        }

        if (chunk.SequenceEqual("VP8L"u8))
        {
            if (d[20] != 0x2F)
            {
                return (0, 0);
            }

            uint bits = BinaryPrimitives.ReadUInt32LittleEndian(d[21..]);
            return ((int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
        }

        if (chunk.SequenceEqual("VP8X"u8))
        {
            int w = d[24] | (d[25] << 8) | (d[26] << 16);
            int h = d[27] | (d[28] << 8) | (d[29] << 16);
            return (w + 1, h + 1);
        }

        return (0, 0);
    }

    private static int ClampInt(uint value) => value > int.MaxValue ? int.MaxValue : (int)value;
}
