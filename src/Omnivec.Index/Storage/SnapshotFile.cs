using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Omnivec.Index.Storage;

/// <summary>
/// Header of the derived files kept next to collection.db (the vector matrix snapshot and the HNSW graph).
/// A file is used only if magic, format version, dimensions, count, the database's instance id and generation
/// all match and the payload's CRC-32C checks out; anything else means "stale or damaged: rebuild from SQLite".
/// </summary>
internal readonly record struct SnapshotHeader(int Dimensions, long Count, long Generation, Guid InstanceId, long PayloadLength, uint Checksum)
{
    internal const int Size = 64;
}

internal static class SnapshotFile
{
    internal const uint FormatVersion = 1;
    // OVMATRX1 had the rows right after the ids; OVMATRX2 pads the ids to a 64-byte boundary so that the rows, searched
    // in place in the mapped file, start on cache lines. OVMATRX1 files are ignored and rebuilt (once, from SQLite).
    internal static readonly ulong MatrixMagic = BinaryPrimitives.ReadUInt64LittleEndian("OVMATRX2"u8);

    /// <summary>Bytes of the matrix payload before its rows: the ids, padded so the rows start 64-byte aligned in the file.</summary>
    internal static long MatrixRowsOffset(long count) => (SnapshotHeader.Size + (count * sizeof(long)) + 63) / 64 * 64 - SnapshotHeader.Size;
    // OVHNSW01 was USearch's serialized index (graph + a second copy of the vectors); such files are ignored and rebuilt.
    internal static readonly ulong HnswMagic = BinaryPrimitives.ReadUInt64LittleEndian("OVHNSW02"u8);

    /// <summary>Writes header + payload parts to a temp file, fsyncs, then renames over <paramref name="path"/>; returns the payload's CRC-32C.</summary>
    internal static uint Write(string path, ulong magic, int dimensions, long count, long generation, Guid instanceId, IReadOnlyList<ReadOnlyMemory<byte>> parts)
    {
        uint crc = 0;
        long length = 0;
        foreach (ReadOnlyMemory<byte> part in parts)
        {
            crc = Crc32C(crc, part.Span);
            length += part.Length;
        }

        Span<byte> header = stackalloc byte[SnapshotHeader.Size];
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], dimensions);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], count);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], generation);
        instanceId.TryWriteBytes(header[32..48]);
        BinaryPrimitives.WriteInt64LittleEndian(header[48..], length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[56..], crc);

        string temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                stream.SetLength(SnapshotHeader.Size + length);
                stream.Write(header);
                foreach (ReadOnlyMemory<byte> part in parts)
                {
                    stream.Write(part.Span);
                }

                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            return crc;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Reads and checks the header only; null when the file is missing, short, or of another kind/version.</summary>
    internal static SnapshotHeader? ReadHeader(FileStream stream, ulong magic)
    {
        Span<byte> header = stackalloc byte[SnapshotHeader.Size];
        if (stream.Length < SnapshotHeader.Size || stream.ReadAtLeast(header, SnapshotHeader.Size, throwOnEndOfStream: false) < SnapshotHeader.Size)
        {
            return null;
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(header) != magic || BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != FormatVersion)
        {
            return null;
        }

        var result = new SnapshotHeader(
            BinaryPrimitives.ReadInt32LittleEndian(header[12..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[24..]),
            new Guid(header[32..48]),
            BinaryPrimitives.ReadInt64LittleEndian(header[48..]),
            BinaryPrimitives.ReadUInt32LittleEndian(header[56..]));
        return stream.Length == SnapshotHeader.Size + result.PayloadLength ? result : null;
    }

    internal static bool Matches(SnapshotHeader header, int dimensions, long generation, Guid instanceId) =>
        header.Dimensions == dimensions && header.Generation == generation && header.InstanceId == instanceId && header.Count >= 0;

    /// <summary>Fills <paramref name="destination"/> from the stream and folds it into a running CRC-32C.</summary>
    internal static uint ReadInto(FileStream stream, Span<byte> destination, uint crc)
    {
        stream.ReadExactly(destination);
        return Crc32C(crc, destination);
    }

    internal static void ReadFloats(FileStream stream, Span<float> destination, ref uint crc)
    {
        // Spans over float[] can exceed int.MaxValue bytes only at ~500M floats; read in chunks regardless.
        const int Chunk = 1 << 22;
        for (int offset = 0; offset < destination.Length; offset += Chunk)
        {
            Span<float> slice = destination.Slice(offset, Math.Min(Chunk, destination.Length - offset));
            crc = ReadInto(stream, MemoryMarshal.AsBytes(slice), crc);
        }
    }

    /// <summary>Folds <paramref name="length"/> bytes of native or mapped memory into a running CRC-32C, in chunks of any total size.</summary>
    internal static unsafe uint Crc32C(uint crc, byte* data, long length)
    {
        const int Chunk = 1 << 30;
        for (long offset = 0; offset < length; offset += Chunk)
        {
            crc = Crc32C(crc, new ReadOnlySpan<byte>(data + offset, (int)Math.Min(Chunk, length - offset)));
        }

        return crc;
    }

    /// <summary>
    /// Folds <paramref name="data"/> into a running CRC-32C (the raw register: no inversion before or after). Large
    /// inputs run as three interleaved streams, one per third, joined with <see cref="ShiftZeros"/>: the crc32
    /// instruction takes three cycles but starts one a cycle, so one dependent chain uses a third of it.
    /// </summary>
    internal static uint Crc32C(uint crc, ReadOnlySpan<byte> data)
    {
        const int MinInterleaved = 3 * 8192;
        if (data.Length >= MinInterleaved)
        {
            int lane = data.Length / (3 * sizeof(ulong)) * sizeof(ulong);
            ReadOnlySpan<ulong> a = MemoryMarshal.Cast<byte, ulong>(data[..lane]);
            ReadOnlySpan<ulong> b = MemoryMarshal.Cast<byte, ulong>(data.Slice(lane, lane));
            ReadOnlySpan<ulong> c = MemoryMarshal.Cast<byte, ulong>(data.Slice(2 * lane, lane));
            uint ca = crc, cb = 0, cc = 0;
            for (int i = 0; i < a.Length; i++)
            {
                ca = BitOperations.Crc32C(ca, a[i]);
                cb = BitOperations.Crc32C(cb, b[i]);
                cc = BitOperations.Crc32C(cc, c[i]);
            }

            crc = ShiftZeros(ShiftZeros(ca, lane) ^ cb, lane) ^ cc;
            data = data[(3 * lane)..];
        }

        return Crc32CSerial(crc, data);
    }

    /// <summary>
    /// The register after <paramref name="bytes"/> zero bytes: crc(A || B) = ShiftZeros(crc(A), |B|) ^ crc₀(B), the
    /// register being linear over GF(2). Squares of the one-zero-bit operator, as zlib's crc32_combine does.
    /// </summary>
    internal static uint ShiftZeros(uint crc, long bytes)
    {
        Span<uint> odd = stackalloc uint[32];
        Span<uint> even = stackalloc uint[32];
        odd[0] = 0x82F63B78u; // reflected Castagnoli polynomial: one zero bit
        uint row = 1;
        for (int n = 1; n < 32; n++)
        {
            odd[n] = row;
            row <<= 1;
        }

        Square(even, odd); // two zero bits
        Square(odd, even); // four zero bits
        while (bytes != 0)
        {
            Square(even, odd); // first pass: one zero byte
            if ((bytes & 1) != 0)
            {
                crc = Times(even, crc);
            }

            bytes >>= 1;
            if (bytes == 0)
            {
                break;
            }

            Square(odd, even);
            if ((bytes & 1) != 0)
            {
                crc = Times(odd, crc);
            }

            bytes >>= 1;
        }

        return crc;

        static uint Times(ReadOnlySpan<uint> matrix, uint vector)
        {
            uint sum = 0;
            for (int i = 0; vector != 0; i++, vector >>= 1)
            {
                if ((vector & 1) != 0)
                {
                    sum ^= matrix[i];
                }
            }

            return sum;
        }

        static void Square(Span<uint> square, ReadOnlySpan<uint> matrix)
        {
            for (int n = 0; n < 32; n++)
            {
                square[n] = Times(matrix, matrix[n]);
            }
        }
    }

    private static uint Crc32CSerial(uint crc, ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong word in words)
        {
            crc = BitOperations.Crc32C(crc, word);
        }

        foreach (byte b in data[(words.Length * sizeof(ulong))..])
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
