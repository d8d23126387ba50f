using System.Runtime.InteropServices;

using Omnivec.Index.Search;
using Omnivec.Index.Storage;

namespace Omnivec.Index.Hnsw;

/// <summary>
/// The graph's file payload (after the <see cref="SnapshotFile"/> header, magic <see cref="SnapshotFile.HnswMagic"/>):
/// links only, no vectors (those are in the matrix snapshot), except the vectors of removed nodes.
/// <code>
/// int32[8]  layout version, M, M0, nodes, entry node, top level, removed nodes, dimensions
/// int64[nodes]   item id of each node (-1: removed)
/// uint8[nodes]   level of each node
/// int32[nodes × (M0 + 1)]   level 0: link count, then the links
/// int32[…]  for each node with level ≥ 1, in node order: level × (M + 1) (count, links) for levels 1…level
/// float32[removed × dimensions]   vectors of the removed nodes, in node order
/// </code>
/// Every field is checked on load (counts, link targets, ids against the matrix); anything off means the file is
/// not used and the graph is rebuilt. Files of the earlier USearch layout have another magic and are rebuilt too.
/// </summary>
internal sealed unsafe partial class HnswIndex
{
    private const int LayoutVersion = 1;
    private const int HeaderInts = 8;

    /// <summary>The payload as byte chunks over the graph's arrays (valid until the graph changes).</summary>
    public List<ReadOnlyMemory<byte>> SerializeParts()
    {
        int count = _count;
        var ids = new long[count];
        long[] matrixIds = _matrix.Ids;
        var upper = new List<int>();
        float[] removed = new float[(long)_removedCount * _dims];
        int removedAt = 0;
        for (int node = 0; node < count; node++)
        {
            int row = _rowOfNode[node];
            if (row >= 0)
            {
                ids[node] = matrixIds[row];
            }
            else
            {
                ids[node] = -1;
                new ReadOnlySpan<float>((float*)_removed[~row], _dims).CopyTo(removed.AsSpan(removedAt * _dims, _dims));
                removedAt++;
            }

            if (_upper[node] is { } up)
            {
                upper.AddRange(up);
            }
        }

        int[] header = [LayoutVersion, Connectivity, BaseConnectivity, count, _entry, _topLevel, _removedCount, _dims];
        return
        [
            MemoryMarshal.AsBytes(header.AsSpan()).ToArray(),
            .. ByteChunks.Of(ids, count),
            .. ByteChunks.Of(_levels, count),
            .. ByteChunks.Of((byte*)_links0, (long)count * Stride0 * sizeof(int)),
            .. ByteChunks.Of(upper.ToArray(), upper.Count),
            .. ByteChunks.Of(removed, removed.Length),
        ];
    }

    /// <summary>
    /// Reads a payload of <paramref name="payloadLength"/> bytes from <paramref name="stream"/> for
    /// <paramref name="matrix"/>; null when it does not check out (checksum, layout, counts, links, ids).
    /// </summary>
    public static HnswIndex? Read(Stream stream, long payloadLength, uint checksum, VectorMatrix matrix, int expansionAdd)
    {
        int dims = matrix.Dimensions;
        if (payloadLength < HeaderInts * sizeof(int))
        {
            return null;
        }

        var header = new int[HeaderInts];
        uint crc = ReadChunked(stream, header.AsSpan(), 0);
        int count = header[3], entry = header[4], top = header[5], removedCount = header[6];
        if (header[0] != LayoutVersion || header[1] != Connectivity || header[2] != BaseConnectivity || header[7] != dims
            || count < 0 || removedCount < 0 || removedCount > count || count - removedCount != matrix.Count
            || top < -1 || top > MaxLevels || (count == 0 ? entry != -1 : (uint)entry >= (uint)count))
        {
            return null;
        }

        long fixedBytes = (HeaderInts * sizeof(int)) + ((long)count * (sizeof(long) + 1 + (Stride0 * sizeof(int)))) + ((long)removedCount * dims * sizeof(float));
        if (fixedBytes > payloadLength || (payloadLength - fixedBytes) % (StrideUp * sizeof(int)) != 0)
        {
            return null;
        }

        var graph = new HnswIndex(matrix, expansionAdd, count);
        try
        {
            var ids = new long[count];
            crc = ReadChunked(stream, ids.AsSpan(), crc);
            crc = ReadChunked(stream, graph._levels.AsSpan(0, count), crc);
            crc = ReadChunked(stream, new Span<int>(graph._links0, count * Stride0), crc);
            long upperInts = 0;
            for (int node = 0; node < count; node++)
            {
                int level = graph._levels[node];
                if (level > MaxLevels)
                {
                    graph.Dispose();
                    return null;
                }

                upperInts += level * StrideUp;
            }

            if (upperInts * sizeof(int) != payloadLength - fixedBytes)
            {
                graph.Dispose();
                return null;
            }

            for (int node = 0; node < count; node++)
            {
                int level = graph._levels[node];
                if (level > 0)
                {
                    var up = new int[level * StrideUp];
                    crc = ReadChunked(stream, up.AsSpan(), crc);
                    graph._upper[node] = up;
                }
            }

            var removed = new float[(long)removedCount * dims];
            crc = ReadChunked(stream, removed.AsSpan(), crc);
            if (crc != checksum || !graph.Adopt(ids, removed, count, entry, top))
            {
                graph.Dispose();
                return null;
            }

            return graph;
        }
        catch
        {
            graph.Dispose();
            throw;
        }
    }

    /// <summary>Checks the read arrays and maps nodes to matrix rows; false when anything is inconsistent.</summary>
    private bool Adopt(long[] ids, float[] removed, int count, int entry, int top)
    {
        Array.Fill(_nodeOfRow, -1);
        int removedAt = 0;
        for (int node = 0; node < count; node++)
        {
            if (ids[node] == -1)
            {
                float* copy = (float*)NativeMemory.Alloc((nuint)_dims, sizeof(float));
                removed.AsSpan(removedAt * _dims, _dims).CopyTo(new Span<float>(copy, _dims));
                if (_removedCount == _removed.Length)
                {
                    Array.Resize(ref _removed, Math.Max(16, _removedCount * 2));
                }

                _removed[_removedCount] = (nint)copy;
                _rowOfNode[node] = ~_removedCount;
                _removedCount++;
                removedAt++;
            }
            else if (_matrix.TryGetRow(ids[node], out int row) && _nodeOfRow[row] == -1)
            {
                _rowOfNode[node] = row;
                _nodeOfRow[row] = node;
            }
            else
            {
                return false; // an id the matrix does not have, or twice
            }

            int level = _levels[node];
            if (!ValidLinks(new Span<int>(_links0 + ((long)node * Stride0), Stride0), BaseConnectivity, count))
            {
                return false;
            }

            for (int l = 1; l <= level; l++)
            {
                if (!ValidLinks(_upper[node].AsSpan((l - 1) * StrideUp, StrideUp), Connectivity, count))
                {
                    return false;
                }
            }
        }

        if (removedAt != removed.Length / Math.Max(1, _dims) || (count > 0 && _levels[entry] != top))
        {
            return false;
        }

        _count = count;
        _entry = entry;
        _topLevel = top;
        return true;
    }

    private static bool ValidLinks(ReadOnlySpan<int> list, int cap, int count)
    {
        int n = list[0];
        if ((uint)n > (uint)cap)
        {
            return false;
        }

        foreach (int link in list.Slice(1, n))
        {
            if ((uint)link >= (uint)count)
            {
                return false;
            }
        }

        return true;
    }

    private static uint ReadChunked<T>(Stream stream, Span<T> destination, uint crc)
        where T : unmanaged
    {
        int perChunk = ByteChunks.ChunkBytes / sizeof(T);
        for (int offset = 0; offset < destination.Length; offset += perChunk)
        {
            Span<byte> bytes = MemoryMarshal.AsBytes(destination.Slice(offset, Math.Min(perChunk, destination.Length - offset)));
            stream.ReadExactly(bytes);
            crc = SnapshotFile.Crc32C(crc, bytes);
        }

        return crc;
    }
}
