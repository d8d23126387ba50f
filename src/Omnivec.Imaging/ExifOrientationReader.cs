using System.Buffers.Binary;

namespace Omnivec.Imaging;

/// <summary>
/// Reads the EXIF orientation from containers where Skia does not report it (WebP's EXIF chunk).
/// Bounds are checked on every read: the input is untrusted.
/// </summary>
internal static class ExifOrientationReader
{
    /// <summary>The orientation (1-8) from a WebP file's EXIF chunk, or 1.</summary>
    public static int FromWebP(ReadOnlySpan<byte> data)
    {
        int pos = 12;
        for (int chunks = 0; chunks < 64 && pos + 8 <= data.Length; chunks++)
        {
            ReadOnlySpan<byte> fourCc = data.Slice(pos, 4);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(pos + 4, 4));
            if (size > (uint)(data.Length - pos - 8))
            {
                return 1;
            }

            if (fourCc.SequenceEqual("EXIF"u8))
            {
                return FromTiff(data.Slice(pos + 8, (int)size));
            }

            pos += 8 + (int)size + (int)(size & 1);
        }

        return 1;
    }

    /// <summary>Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block (optionally prefixed by "Exif\0\0").</summary>
    public static int FromTiff(ReadOnlySpan<byte> exif)
    {
        if (exif.StartsWith("Exif\0\0"u8))
        {
            exif = exif[6..];
        }

        if (exif.Length < 8)
        {
            return 1;
        }

        bool little;
        if (exif.StartsWith("II*\0"u8))
        {
            little = true;
        }
        else if (exif.StartsWith("MM\0*"u8))
        {
            little = false;
        }
        else
        {
            return 1;
        }

        uint ifd = Read32(exif[4..], little);
        if (ifd > (uint)exif.Length - 2)
        {
            return 1;
        }

        int count = Read16(exif[(int)ifd..], little);
        for (int i = 0; i < count; i++)
        {
            long entry = ifd + 2 + 12L * i;
            if (entry + 12 > exif.Length)
            {
                return 1;
            }

            ReadOnlySpan<byte> e = exif.Slice((int)entry, 12);
            if (Read16(e, little) == 0x0112)
            {
                int type = Read16(e[2..], little);
                int value = type == 3 ? Read16(e[8..], little) : type == 4 ? (int)Math.Min(Read32(e[8..], little), 9u) : 0;
                return Orientation.Normalize(value);
            }
        }

        return 1;
    }

    private static ushort Read16(ReadOnlySpan<byte> b, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b);

    private static uint Read32(ReadOnlySpan<byte> b, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b);
}
