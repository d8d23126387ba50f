using System.Runtime.CompilerServices;

namespace Omnivec.Index.Hnsw;

/// <summary>
/// Per-thread scratch of a graph walk: visited tags (reset by bumping a 16-bit tag, cleared only when it wraps),
/// the candidate and result heaps and the buffers of neighbour selection. Reused across searches, so a search
/// allocates nothing.
/// </summary>
internal sealed class SearchContext
{
    [ThreadStatic]
    private static SearchContext? t_current;

    private ushort _tag;

    public ushort[] Visited { get; private set; } = [];

    /// <summary>Candidates to expand, keyed by negated distance (as in hnswlib), so the closest is on top of the max-heap.</summary>
    public MaxHeap Candidates { get; } = new(256);

    public MaxHeap Results { get; } = new(256);

    /// <summary>Results drained in ascending distance.</summary>
    public (float Distance, int Node)[] Sorted { get; private set; } = new (float, int)[256];

    public (float Distance, int Node)[] Selected { get; } = new (float, int)[HnswIndex.BaseConnectivity + 1];

    public (float Distance, int Node)[] Pool { get; } = new (float, int)[HnswIndex.BaseConnectivity + 2];

    public (float Distance, int Node)[] Pruned { get; } = new (float, int)[HnswIndex.BaseConnectivity + 2];

    public int[] Scratch { get; } = new int[HnswIndex.Connectivity + 2];

    public static SearchContext ForThread() => t_current ??= new SearchContext();

    private float[] _row = [];

    /// <summary>Results re-scored (with the float16 rows) by this thread's searches.</summary>
    public long Rescored { get; set; }

    private float[] _radii = new float[256];

    /// <summary>Results the same searches scored again with their float32 rows (those on the line: see HnswCodes.Rescore).</summary>
    public long ExactRescored { get; set; }

    /// <summary>A scratch of at least <paramref name="count"/> floats: each re-scored result's error bound.</summary>
    public float[] Radii(int count)
    {
        if (_radii.Length < count)
        {
            _radii = new float[Math.Max(count, _radii.Length * 2)];
        }

        return _radii;
    }

    /// <summary>A buffer of <paramref name="dimensions"/> floats for one row, widened from float16 or read from a file (pinned: the context lives as long as its thread).</summary>
    public unsafe float* Row(int dimensions)
    {
        if (_row.Length < dimensions)
        {
            _row = GC.AllocateArray<float>(dimensions, pinned: true);
        }

        return (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _row[0]);
    }

    /// <summary>Empties the result heap into <see cref="Sorted"/>, closest first; returns how many.</summary>
    public int DrainResults()
    {
        if (Sorted.Length < Results.Count)
        {
            Sorted = new (float, int)[Results.Capacity];
        }

        return Results.DrainAscending(Sorted);
    }

    /// <summary>A fresh visited tag for a graph of <paramref name="nodes"/> nodes.</summary>
    public ushort NextTag(int nodes)
    {
        if (Visited.Length < nodes)
        {
            Visited = new ushort[Math.Max(nodes, Visited.Length + (Visited.Length / 2))];
            _tag = 0;
        }

        if (++_tag == 0)
        {
            Array.Clear(Visited);
            _tag = 1;
        }

        return _tag;
    }
}

/// <summary>Binary max-heap of (distance, node): the farthest kept result on top.</summary>
internal sealed class MaxHeap
{
    private float[] _d;
    private int[] _n;

    public MaxHeap(int capacity)
    {
        _d = new float[capacity];
        _n = new int[capacity];
    }

    public int Count { get; private set; }

    public int Capacity => _d.Length;

    public float TopDistance => _d[0];

    public void Clear() => Count = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(float distance, int node)
    {
        if (Count == _d.Length)
        {
            Array.Resize(ref _d, _d.Length * 2);
            Array.Resize(ref _n, _n.Length * 2);
        }

        int i = Count++;
        float[] d = _d;
        int[] n = _n;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (d[parent] >= distance)
            {
                break;
            }

            d[i] = d[parent];
            n[i] = n[parent];
            i = parent;
        }

        d[i] = distance;
        n[i] = node;
    }

    public int Pop()
    {
        float[] d = _d;
        int[] n = _n;
        int top = n[0];
        int last = --Count;
        float ld = d[last];
        int ln = n[last];
        int i = 0;
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= last)
            {
                break;
            }

            if (child + 1 < last && d[child + 1] > d[child])
            {
                child++;
            }

            if (d[child] <= ld)
            {
                break;
            }

            d[i] = d[child];
            n[i] = n[child];
            i = child;
        }

        d[i] = ld;
        n[i] = ln;
        return top;
    }

    /// <summary>Empties the heap into <paramref name="into"/>, closest first; returns how many.</summary>
    public int DrainAscending((float Distance, int Node)[] into)
    {
        int count = Count;
        for (int i = count - 1; i >= 0; i--)
        {
            float d = _d[0];
            into[i] = (d, Pop());
        }

        return count;
    }
}
