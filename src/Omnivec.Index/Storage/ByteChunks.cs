using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Omnivec.Index.Storage;

/// <summary>
/// Large payloads as a list of byte chunks for <see cref="SnapshotFile.Write"/>: a 1M × 512 matrix or its HNSW
/// graph is over 2 GiB, more than one span or array can address.
/// </summary>
internal static class ByteChunks
{
    internal const int ChunkBytes = 16 << 20;

    /// <summary>The first <paramref name="length"/> elements of <paramref name="data"/>, as byte chunks (no copy).</summary>
    public static List<ReadOnlyMemory<byte>> Of<T>(T[] data, long length)
        where T : unmanaged
    {
        int perChunk = ChunkBytes / Unsafe.SizeOf<T>();
        var chunks = new List<ReadOnlyMemory<byte>>((int)(length / perChunk) + 1);
        for (long offset = 0; offset < length; offset += perChunk)
        {
            chunks.Add(new ArrayBytes<T>(data, (int)offset, (int)Math.Min(perChunk, length - offset)).Memory);
        }

        return chunks;
    }

    /// <summary>Chunks over a native buffer (no copy); valid while the buffer lives.</summary>
    public static unsafe List<ReadOnlyMemory<byte>> Of(NativeBuffer buffer) => Of(buffer.Pointer, buffer.Length);

    /// <summary>Chunks over <paramref name="length"/> bytes of native memory (no copy); valid while that memory is.</summary>
    public static unsafe List<ReadOnlyMemory<byte>> Of(byte* pointer, long length)
    {
        var chunks = new List<ReadOnlyMemory<byte>>((int)(length / ChunkBytes) + 1);
        for (long offset = 0; offset < length; offset += ChunkBytes)
        {
            chunks.Add(new NativeBytes(pointer, offset, (int)Math.Min(ChunkBytes, length - offset)).Memory);
        }

        return chunks;
    }

    private sealed class ArrayBytes<T>(T[] data, int offset, int length) : MemoryManager<byte>
        where T : unmanaged
    {
        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(data.AsSpan(offset, length));

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }

    private sealed unsafe class NativeBytes(byte* pointer, long offset, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer + offset, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + offset + elementIndex);

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }
}

/// <summary>An unmanaged byte buffer of any size (beyond 2 GiB), freed on dispose: no GC heap growth for transient I/O.</summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    public NativeBuffer(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        Pointer = (byte*)NativeMemory.Alloc((nuint)Math.Max(length, 1));
    }

    public byte* Pointer { get; private set; }

    public long Length { get; }

    /// <summary>Fills the whole buffer from <paramref name="stream"/> and folds it into a running CRC-32C.</summary>
    public uint ReadFrom(Stream stream, uint crc)
    {
        for (long offset = 0; offset < Length; offset += ByteChunks.ChunkBytes)
        {
            var chunk = new Span<byte>(Pointer + offset, (int)Math.Min(ByteChunks.ChunkBytes, Length - offset));
            stream.ReadExactly(chunk);
            crc = SnapshotFile.Crc32C(crc, chunk);
        }

        return crc;
    }

    public void Dispose()
    {
        if (Pointer is not null)
        {
            NativeMemory.Free(Pointer);
            Pointer = null;
        }
    }
}
