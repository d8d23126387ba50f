namespace Omnivec.Imaging;

/// <summary>Containers recognised by their leading bytes. File names are never trusted.</summary>
internal enum SniffedFormat
{
    Unknown,
    Jpeg,
    Png,
    Gif,
    WebP,
    Bmp,
    Ico,
    Heic,
    Avif,
    Tiff,
    BigTiff,
    Psd,
    Qoi,
    Jpeg2000,
    Jpeg2000Codestream,
    Pnm,
    Tga,
}

internal static class ImageFormatSniffer
{
    public static SniffedFormat Sniff(ReadOnlySpan<byte> d)
    {
        if (d.Length >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        {
            return SniffedFormat.Jpeg;
        }

        if (d.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return SniffedFormat.Png;
        }

        if (d.StartsWith("GIF87a"u8) || d.StartsWith("GIF89a"u8))
        {
            return SniffedFormat.Gif;
        }

        if (d.Length >= 12 && d.StartsWith("RIFF"u8) && d.Slice(8, 4).SequenceEqual("WEBP"u8))
        {
            return SniffedFormat.WebP;
        }

        if (d.Length >= 14 && d.StartsWith("BM"u8))
        {
            return SniffedFormat.Bmp;
        }

        // ICO (type 1) and CUR (type 2): reserved 0, type, a non-zero image count.
        if (d.Length >= 6 && d[0] == 0 && d[1] == 0 && (d[2] == 1 || d[2] == 2) && d[3] == 0 && (d[4] | d[5]) != 0)
        {
            return SniffedFormat.Ico;
        }

        if (d.Length >= 12 && d.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            return SniffIsoBmff(d);
        }

        if (d.StartsWith("II*\0"u8) || d.StartsWith("MM\0*"u8))
        {
            return SniffedFormat.Tiff;
        }

        if (d.StartsWith("II+\0"u8) || d.StartsWith("MM\0+"u8))
        {
            return SniffedFormat.BigTiff;
        }

        if (d.StartsWith("8BPS"u8))
        {
            return SniffedFormat.Psd;
        }

        if (d.StartsWith("qoif"u8))
        {
            return SniffedFormat.Qoi;
        }

        if (d.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, (byte)'j', (byte)'P', (byte)' ', (byte)' ', 0x0D, 0x0A, 0x87, 0x0A]))
        {
            return SniffedFormat.Jpeg2000;
        }

        if (d.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x4F, 0xFF, 0x51]))
        {
            return SniffedFormat.Jpeg2000Codestream;
        }

        if (d.Length >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7' && IsPnmSpace(d[2]))
        {
            return SniffedFormat.Pnm;
        }

        return LooksLikeTga(d) ? SniffedFormat.Tga : SniffedFormat.Unknown;
    }

    public static string Name(SniffedFormat format) => format switch
    {
        SniffedFormat.Jpeg2000Codestream => "j2k",
        SniffedFormat.BigTiff => "tiff",
        _ => format.ToString().ToLowerInvariant(),
    };

    private static bool IsPnmSpace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t';

    /// <summary>HEIF-family files: the major brand and compatible brands say whether the payload is AV1 (AVIF) or HEVC (HEIC).</summary>
    private static SniffedFormat SniffIsoBmff(ReadOnlySpan<byte> d)
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
                return SniffedFormat.Avif;
            }

            if (brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("hevc"u8) || brand.SequenceEqual("hevx"u8)
                || brand.SequenceEqual("heim"u8) || brand.SequenceEqual("heis"u8) || brand.SequenceEqual("mif1"u8) || brand.SequenceEqual("msf1"u8))
            {
                heif = true;
            }
        }

        return heif ? SniffedFormat.Heic : SniffedFormat.Unknown;
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
}
