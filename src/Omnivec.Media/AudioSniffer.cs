namespace Omnivec.Media;

/// <summary>Recognises audio files, and video containers whose soundtrack can be read, by their leading bytes; never by name.</summary>
public static class AudioSniffer
{
    /// <summary>How many leading bytes <see cref="SniffMediaType"/> looks at.</summary>
    public const int HeaderLength = VideoSniffer.HeaderLength;

    /// <summary>
    /// The media type of an audio container (audio/wav, audio/aiff, audio/flac, audio/ogg, audio/mpeg, audio/aac,
    /// audio/mp4, audio/amr, audio/x-caf, audio/basic, audio/x-wavpack, audio/x-ape), else a video container's type from
    /// <see cref="VideoSniffer"/> (its soundtrack), or null when the bytes are neither.
    /// </summary>
    public static string? SniffMediaType(ReadOnlySpan<byte> d)
    {
        if (d.Length >= 12 && (d.StartsWith("RIFF"u8) || d.StartsWith("RF64"u8)) && d.Slice(8, 4).SequenceEqual("WAVE"u8))
        {
            return "audio/wav";
        }

        if (d.Length >= 12 && d.StartsWith("FORM"u8) && (d.Slice(8, 4).SequenceEqual("AIFF"u8) || d.Slice(8, 4).SequenceEqual("AIFC"u8)))
        {
            return "audio/aiff";
        }

        if (d.StartsWith("fLaC"u8))
        {
            return "audio/flac";
        }

        if (d.StartsWith("OggS"u8))
        {
            return "audio/ogg";
        }

        if (d.StartsWith("ID3"u8) && d.Length >= 10 && d[3] is >= 2 and <= 4)
        {
            return "audio/mpeg";
        }

        if (d.StartsWith("#!AMR"u8))
        {
            return "audio/amr";
        }

        if (d.StartsWith("caff"u8))
        {
            return "audio/x-caf";
        }

        if (d.StartsWith(".snd"u8))
        {
            return "audio/basic";
        }

        if (d.StartsWith("wvpk"u8))
        {
            return "audio/x-wavpack";
        }

        if (d.StartsWith("MAC "u8))
        {
            return "audio/x-ape";
        }

        if (d.Length >= 12 && d.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            ReadOnlySpan<byte> brand = d.Slice(8, 4);
            if (brand.SequenceEqual("M4A "u8) || brand.SequenceEqual("M4B "u8) || brand.SequenceEqual("M4P "u8) || brand.SequenceEqual("F4A "u8)
                || brand.SequenceEqual("F4B "u8))
            {
                return "audio/mp4";
            }
        }

        if (d.Length >= 4 && d[0] == 0xFF && (d[1] & 0xE0) == 0xE0)
        {
            // ADTS AAC: layer bits 00 and a valid sampling index; MPEG audio: layer 1-3, a valid bitrate and rate index.
            int layer = (d[1] >> 1) & 3;
            if (layer == 0 && (d[1] & 0xF6) == 0xF0 && ((d[2] >> 2) & 0xF) < 13)
            {
                return "audio/aac";
            }

            if (layer != 0 && ((d[1] >> 3) & 3) != 1 && (d[2] >> 4) is not (0 or 0xF) && ((d[2] >> 2) & 3) != 3)
            {
                return "audio/mpeg";
            }
        }

        return VideoSniffer.SniffMediaType(d);
    }

    /// <summary>Reads the first bytes of a file and sniffs them; null for an empty file or one that is neither audio nor video.</summary>
    public static string? SniffFile(string path)
    {
        Span<byte> header = stackalloc byte[HeaderLength];
        using FileStream stream = File.OpenRead(path);
        int length = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        return SniffMediaType(header[..length]);
    }
}
