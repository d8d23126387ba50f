namespace Omnivec.Media;

/// <summary>Recognises video containers by their leading bytes; file names are never trusted.</summary>
public static class VideoSniffer
{
    /// <summary>How many leading bytes <see cref="SniffMediaType"/> looks at (fewer work for most containers).</summary>
    public const int HeaderLength = 512;

    /// <summary>
    /// The media type of a video container (video/mp4, video/quicktime, video/x-m4v, video/3gpp, video/webm,
    /// video/x-matroska, video/x-msvideo, video/mp2t, video/mpeg, video/x-flv, video/x-ms-asf), or null when the bytes
    /// are not one. Audio-only brands (M4A) and image brands (HEIC, AVIF) are not videos.
    /// </summary>
    public static string? SniffMediaType(ReadOnlySpan<byte> d)
    {
        if (d.Length >= 12 && d.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            return IsoBrand(d.Slice(8, 4));
        }

        // Old QuickTime files start with a moov, mdat, wide, free, skip or pnot atom instead of ftyp.
        if (d.Length >= 8)
        {
            ReadOnlySpan<byte> atom = d.Slice(4, 4);
            if (atom.SequenceEqual("moov"u8) || atom.SequenceEqual("mdat"u8) || atom.SequenceEqual("wide"u8) || atom.SequenceEqual("pnot"u8))
            {
                return "video/quicktime";
            }
        }

        if (d.Length >= 4 && d[0] == 0x1A && d[1] == 0x45 && d[2] == 0xDF && d[3] == 0xA3)
        {
            // EBML: the DocType element (0x42 0x82) says webm or matroska.
            int doc = d[..Math.Min(d.Length, 64)].IndexOf((ReadOnlySpan<byte>)[0x42, 0x82]);
            return doc >= 0 && d[(doc + 2)..].IndexOf("webm"u8) is >= 0 and < 8 ? "video/webm" : "video/x-matroska";
        }

        if (d.Length >= 12 && d.StartsWith("RIFF"u8) && d.Slice(8, 4).SequenceEqual("AVI "u8))
        {
            return "video/x-msvideo";
        }

        if (IsTransportStream(d, 0, 188) || IsTransportStream(d, 4, 192))
        {
            return "video/mp2t";
        }

        if (d.Length >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 1 && (d[3] == 0xBA || d[3] == 0xB3))
        {
            return "video/mpeg";
        }

        if (d.Length >= 4 && d.StartsWith("FLV"u8) && d[3] == 1)
        {
            return "video/x-flv";
        }

        if (d.StartsWith((ReadOnlySpan<byte>)[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]))
        {
            return "video/x-ms-asf";
        }

        return null;
    }

    /// <summary>Reads the first bytes of a file and sniffs them; null for an empty or non-video file.</summary>
    public static string? SniffFile(string path)
    {
        Span<byte> header = stackalloc byte[HeaderLength];
        using FileStream stream = File.OpenRead(path);
        int length = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        return SniffMediaType(header[..length]);
    }

    private static string? IsoBrand(ReadOnlySpan<byte> brand)
    {
        if (brand.SequenceEqual("qt  "u8))
        {
            return "video/quicktime";
        }

        if (brand.StartsWith("3gp"u8) || brand.StartsWith("3g2"u8))
        {
            return "video/3gpp";
        }

        if (brand.SequenceEqual("M4V "u8) || brand.SequenceEqual("M4VH"u8) || brand.SequenceEqual("M4VP"u8))
        {
            return "video/x-m4v";
        }

        // Audio (M4A, M4B, M4P, F4A), images (heic, mif1, avif, …) and everything unknown are not videos.
        ReadOnlySpan<byte> b = brand;
        bool mp4 = b.StartsWith("iso"u8) || b.StartsWith("mp4"u8) || b.StartsWith("avc"u8) || b.StartsWith("dash"u8)
            || b.SequenceEqual("MSNV"u8) || b.SequenceEqual("NDAS"u8) || b.SequenceEqual("f4v "u8) || b.SequenceEqual("XAVC"u8)
            || b.SequenceEqual("mmp4"u8) || b.SequenceEqual("mp71"u8) || b.SequenceEqual("CAEP"u8) || b.SequenceEqual("kddi"u8);
        return mp4 ? "video/mp4" : null;
    }

    private static bool IsTransportStream(ReadOnlySpan<byte> d, int offset, int packet)
    {
        // Three sync bytes one packet apart; two when the header is shorter than three packets.
        int needed = d.Length >= offset + 2 * packet + 1 ? 3 : 2;
        if (d.Length < offset + (needed - 1) * packet + 1)
        {
            return false;
        }

        for (int i = 0; i < needed; i++)
        {
            if (d[offset + i * packet] != 0x47)
            {
                return false;
            }
        }

        return true;
    }
}
