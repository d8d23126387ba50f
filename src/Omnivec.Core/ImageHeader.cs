using System.Buffers.Binary;

namespace Omnivec;

/// <summary>Image containers recognised by their leading bytes (<see cref="ImageHeader.Sniff"/>). File names and declared media types are never trusted.</summary>
public enum ImageFormat
{
    /// <summary>Not an image format recognised here.</summary>
    Unknown,

    /// <summary>JPEG (and MPO, whose first image is a JPEG).</summary>
    Jpeg,

    /// <summary>PNG.</summary>
    Png,

    /// <summary>GIF87a or GIF89a.</summary>
    Gif,

    /// <summary>WebP (lossy, lossless or extended).</summary>
    WebP,

    /// <summary>Windows or OS/2 bitmap.</summary>
    Bmp,

    /// <summary>Windows icon or cursor.</summary>
    Ico,

    /// <summary>HEIF with HEVC payload (HEIC).</summary>
    Heic,

    /// <summary>HEIF with AV1 payload (AVIF).</summary>
    Avif,

    /// <summary>TIFF.</summary>
    Tiff,

    /// <summary>BigTIFF (64-bit offsets).</summary>
    BigTiff,

    /// <summary>Photoshop document.</summary>
    Psd,

    /// <summary>Quite OK Image.</summary>
    Qoi,

    /// <summary>JPEG 2000 in its JP2 container.</summary>
    Jpeg2000,

    /// <summary>A raw JPEG 2000 codestream (J2K).</summary>
    Jpeg2000Codestream,

    /// <summary>Netpbm (PBM, PGM, PPM, PAM).</summary>
    Pnm,

    /// <summary>Truevision TGA (recognised only when every header field is plausible).</summary>
    Tga,
}

/// <summary>
/// The one image-format sniffer: reads an image's format, and for the common web formats its pixel size, from its first
/// bytes without decoding. Pure managed code, so the decoders (Omnivec.Imaging) and the cloud providers (which check
/// the services' limits before an upload) share it without either needing the other's dependencies. Every read is
/// bounds-checked: the input is untrusted, and a cut-short header gives a size of (0, 0), never an exception.
/// </summary>
public static class ImageHeader
{
    /// <summary>The container format from the leading bytes; <see cref="ImageFormat.Unknown"/> when none matches.</summary>
    public static ImageFormat Sniff(ReadOnlySpan<byte> d)
    {
        if (d.Length >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        {
            return ImageFormat.Jpeg;
        }

        if (d.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return ImageFormat.Png;
        }

        if (d.StartsWith("GIF87a"u8) || d.StartsWith("GIF89a"u8))
        {
            return ImageFormat.Gif;
        }

        if (d.Length >= 12 && d.StartsWith("RIFF"u8) && d.Slice(8, 4).SequenceEqual("WEBP"u8))
        {
            return ImageFormat.WebP;
        }

        if (d.Length >= 14 && d.StartsWith("BM"u8))
        {
            return ImageFormat.Bmp;
        }

        // ICO (type 1) and CUR (type 2): reserved 0, type, a non-zero image count.
        if (d.Length >= 6 && d[0] == 0 && d[1] == 0 && (d[2] == 1 || d[2] == 2) && d[3] == 0 && (d[4] | d[5]) != 0)
        {
            return ImageFormat.Ico;
        }

        if (d.Length >= 12 && d.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            return SniffIsoBmff(d);
        }

        if (d.StartsWith("II*\0"u8) || d.StartsWith("MM\0*"u8))
        {
            return ImageFormat.Tiff;
        }

        if (d.StartsWith("II+\0"u8) || d.StartsWith("MM\0+"u8))
        {
            return ImageFormat.BigTiff;
        }

        if (d.StartsWith("8BPS"u8))
        {
            return ImageFormat.Psd;
        }

        if (d.StartsWith("qoif"u8))
        {
            return ImageFormat.Qoi;
        }

        if (d.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, (byte)'j', (byte)'P', (byte)' ', (byte)' ', 0x0D, 0x0A, 0x87, 0x0A]))
        {
            return ImageFormat.Jpeg2000;
        }

        if (d.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x4F, 0xFF, 0x51]))
        {
            return ImageFormat.Jpeg2000Codestream;
        }

        if (d.Length >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7' && IsPnmSpace(d[2]))
        {
            return ImageFormat.Pnm;
        }

        return LooksLikeTga(d) ? ImageFormat.Tga : ImageFormat.Unknown;
    }

    /// <summary>Format and pixel size; the size is (0, 0) for formats whose size is not read here (only PNG, JPEG, GIF, BMP and WebP are) or when the header is cut short.</summary>
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

    /// <summary>A short lower-case name for messages and metadata ("jpeg", "png", "tiff", "j2k", …).</summary>
    public static string Name(ImageFormat format) => format switch
    {
        ImageFormat.Jpeg2000Codestream => "j2k",
        ImageFormat.BigTiff => "tiff",
        _ => format.ToString().ToLowerInvariant(),
    };

    /// <summary>The IANA (or customary) media type; null for <see cref="ImageFormat.Unknown"/> and for raw JPEG 2000 codestreams, which have none.</summary>
    public static string? MediaType(ImageFormat format) => format switch
    {
        ImageFormat.Png => "image/png",
        ImageFormat.Jpeg => "image/jpeg",
        ImageFormat.Gif => "image/gif",
        ImageFormat.Bmp => "image/bmp",
        ImageFormat.WebP => "image/webp",
        ImageFormat.Tiff or ImageFormat.BigTiff => "image/tiff",
        ImageFormat.Ico => "image/x-icon",
        ImageFormat.Heic => "image/heic",
        ImageFormat.Avif => "image/avif",
        ImageFormat.Psd => "image/vnd.adobe.photoshop",
        ImageFormat.Qoi => "image/qoi",
        ImageFormat.Jpeg2000 => "image/jp2",
        ImageFormat.Pnm => "image/x-portable-anymap",
        ImageFormat.Tga => "image/x-tga",
        _ => null,
    };

    /// <summary>The format a declared media type names (parameters ignored); <see cref="ImageFormat.Unknown"/> for anything else.</summary>
    public static ImageFormat FromMediaType(string? mediaType) => mediaType?.Split(';')[0].Trim().ToUpperInvariant() switch
    {
        "IMAGE/PNG" => ImageFormat.Png,
        "IMAGE/JPEG" or "IMAGE/JPG" or "IMAGE/PJPEG" => ImageFormat.Jpeg,
        "IMAGE/GIF" => ImageFormat.Gif,
        "IMAGE/BMP" or "IMAGE/X-MS-BMP" => ImageFormat.Bmp,
        "IMAGE/WEBP" => ImageFormat.WebP,
        "IMAGE/TIFF" => ImageFormat.Tiff,
        "IMAGE/X-ICON" or "IMAGE/VND.MICROSOFT.ICON" => ImageFormat.Ico,
        "IMAGE/HEIC" or "IMAGE/HEIF" => ImageFormat.Heic,
        "IMAGE/AVIF" => ImageFormat.Avif,
        _ => ImageFormat.Unknown,
    };

    private static bool IsPnmSpace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t';

    /// <summary>HEIF-family files: the major brand and compatible brands say whether the payload is AV1 (AVIF) or HEVC (HEIC).</summary>
    private static ImageFormat SniffIsoBmff(ReadOnlySpan<byte> d)
    {
        uint boxSize = (uint)(d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3]);
        int end = (int)Math.Min(Math.Max(boxSize, 16u), (uint)d.Length);
        bool heif = false;
        for (int i = 8; i + 4 <= end; i += 4)
        {
            if (i == 12)
            {
                continue; // minor version, not a brand
            }

            ReadOnlySpan<byte> brand = d.Slice(i, 4);
            if (brand.SequenceEqual("avif"u8) || brand.SequenceEqual("avis"u8))
            {
                return ImageFormat.Avif;
            }

            if (brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("hevc"u8) || brand.SequenceEqual("hevx"u8)
                || brand.SequenceEqual("heim"u8) || brand.SequenceEqual("heis"u8) || brand.SequenceEqual("mif1"u8) || brand.SequenceEqual("msf1"u8))
            {
                heif = true;
            }
        }

        return heif ? ImageFormat.Heic : ImageFormat.Unknown;
    }

    /// <summary>
    /// TGA has no magic number, so only a header whose every field is plausible counts (or the v2 footer);
    /// anything else stays unknown rather than being handed to a decoder on a guess.
    /// </summary>
    private static bool LooksLikeTga(ReadOnlySpan<byte> d)
    {
        if (d.Length < 18 + 4)
        {
            return false;
        }

        if (d.Length >= 26 && d[^18..].SequenceEqual("TRUEVISION-XFILE.\0"u8))
        {
            return true;
        }

        byte colorMapType = d[1], imageType = d[2];
        int colorMapEntryBits = d[7];
        int width = d[12] | d[13] << 8, height = d[14] | d[15] << 8;
        byte depth = d[16], descriptor = d[17];
        bool typeOk = imageType is 1 or 2 or 3 or 9 or 10 or 11;
        bool mapOk = colorMapType == 0 || (colorMapType == 1 && colorMapEntryBits is 15 or 16 or 24 or 32 && imageType is 1 or 9);
        bool depthOk = depth is 8 or 15 or 16 or 24 or 32;
        return typeOk && mapOk && depthOk && width > 0 && height > 0 && (descriptor & 0xC0) == 0;
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
