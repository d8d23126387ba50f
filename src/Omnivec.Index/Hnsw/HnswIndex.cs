using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Omnivec.Index.Search;

namespace Omnivec.Index.Hnsw;

/// <summary>
/// HNSW graph (Malkov and Yashunin) over the unit vectors of a <see cref="VectorMatrix"/>, inner-product metric.
/// The graph holds links only: each node reads its vector from the matrix row it maps to, so a collection keeps one
/// float32 copy of its vectors in memory, shared by exact search and the graph. Removed nodes stay in the graph as
/// tombstones (traversed, never returned) and keep a private copy of their vector, because the matrix row is gone.
/// Not thread-safe for writes: the owner serialises <see cref="Insert"/>, <see cref="Detach"/> and
/// <see cref="Moved"/> against searches (and applies the same change to the matrix); concurrent searches are fine.
/// </summary>
internal sealed unsafe partial class HnswIndex : IDisposable
{
    /// <summary>M: links per node on the upper levels; level 0 has twice as many.</summary>
    internal const int Connectivity = 16;
    internal const int BaseConnectivity = 2 * Connectivity;
    internal const int DefaultExpansionAdd = 64;
    internal const int DefaultExpansionSearch = 64;

    /// <summary>
    /// A query's beam on level 1, the last level before level 0, for a level-0 search of ef: a quarter of ef, 8 to 64
    /// (the levels above are walked greedily, as hnswlib walks all of them). Level 0 then starts from every node the
    /// beam kept. A greedy walk can end in a cluster next to the query's own, and level 0 then starts there: at 1M
    /// clustered 512-d vectors 9 of 1,000 queries found none of their 10 neighbours at ef 320. The beam costs about ef/4
    /// of the ef nodes level 0 expands, so it grows with the search a caller asks for; in one sitting at 1M (pinned,
    /// bench/analysis.md, 5 Dec 00:45–00:58) a fixed beam of 8 needed ef 256 for recall@10 0.99 (1,806–2,073 queries/s,
    /// p99/p50 2.1–2.2) where beams of 32–48 needed ef 128–160 (2,104–2,360 queries/s, p99/p50 1.3–1.8, at most one
    /// query in 1,000 with none of its neighbours); at 100k, ef 32 and a beam of 8 still. 1: greedy.
    /// </summary>
    internal static int LevelOneBeam(int ef) => Math.Clamp(ef / 4, MinLevelOneBeam, MaxLevelOneBeam);

    private const int MinLevelOneBeam = 8;
    private const int MaxLevelOneBeam = 64;

    /// <summary>Upper bound for a search or build expansion: far past the point of diminishing recall, and bounds the buffers.</summary>
    internal const int MaxExpansion = 4096;

    /// <summary>Highest level a node can get (the expected top level of 1M nodes with M 16 is 5).</summary>
    internal const int MaxLevels = 15;

    private const int Stride0 = BaseConnectivity + 1;   // [count, links…] per node on level 0
    private const int StrideUp = Connectivity + 1;      // the same per upper level
    private const int LockStripes = 1 << 12;
    private const ulong LevelSeed = 0x9E3779B97F4A7C15UL;
    private static readonly double LevelScale = 1 / Math.Log(Connectivity);

    private readonly VectorMatrix _matrix;
    private readonly int _dims;
    private readonly int _expansionAdd;
    private readonly int[] _locks = new int[LockStripes];
    private readonly Lock _entryGate = new();
    private int* _links0;       // level-0 links, Stride0 ints per node (count, then links); native, huge-page backed
    private long _links0Nodes;  // nodes _links0 has room for
    private int[]?[] _upper;
    private byte[] _levels;
    private int[] _rowOfNode;   // row in the matrix, or ~k for a removed node whose vector is _removed[k]
    private int[] _nodeOfRow;   // inverse of _rowOfNode for live rows
    private nint[] _removed = [];
    private int _removedCount;
    private int _count;
    private int _entry = -1;
    private int _topLevel = -1;

    private HnswIndex(VectorMatrix matrix, int expansionAdd, int capacity)
    {
        _matrix = matrix;
        _dims = matrix.Dimensions;
        _expansionAdd = Math.Clamp(expansionAdd, 1, MaxExpansion);
        capacity = Math.Max(capacity, 16);
        AllocateLinks0(capacity);
        _upper = new int[]?[capacity];
        _levels = new byte[capacity];
        _rowOfNode = new int[capacity];
        _nodeOfRow = new int[Math.Max(capacity, matrix.Capacity)];
    }

    public int Dimensions => _dims;

    /// <summary>Live nodes: one per matrix row.</summary>
    public long Size => _count - _removedCount;

    /// <summary>Removed nodes still in the graph.</summary>
    public int Removed => _removedCount;

    /// <summary>Approximate bytes the graph holds besides the matrix (links, maps, removed vectors).</summary>
    public long GraphBytes
    {
        get
        {
            long bytes = (_links0Nodes * Stride0 * sizeof(int)) + ((long)_upper.Length * IntPtr.Size) + _levels.Length
                + ((long)_rowOfNode.Length * sizeof(int)) + ((long)_nodeOfRow.Length * sizeof(int)) + ((long)_removedCount * _dims * sizeof(float))
                + CodeBytes;
            for (int i = 0; i < _count; i++)
            {
                bytes += _upper[i] is { } up ? (up.Length * sizeof(int)) + 24 : 0;
            }

            return bytes;
        }
    }

    /// <summary>Nodes that <see cref="Reconnect"/> had to link into the graph after the build (node n is matrix row n then).</summary>
    public IReadOnlyList<int> Reconnected { get; private set; } = [];

    /// <summary>Nodes <see cref="Relink"/> linked among closer nodes after the build.</summary>
    internal IReadOnlyList<int> Relinked { get; private set; } = [];

    /// <summary>How many times as far as its neighbours' nearest ones a node's nearest neighbour may be before <see cref="Relink"/> searches for it again.</summary>
    internal const float RelinkRatio = 1.25f;

    /// <summary>The least beam <see cref="Relink"/> searches with (4 × the build's, when that is more).</summary>
    internal const int RelinkMinExpansion = 256;

    /// <summary>Builds the graph over every row of <paramref name="matrix"/>, on all cores (or <paramref name="threads"/>).</summary>
    public static HnswIndex Build(VectorMatrix matrix, int expansionAdd = DefaultExpansionAdd, int threads = 0, CancellationToken cancellationToken = default)
        => Build(matrix, expansionAdd, threads, relink: true, cancellationToken);

    /// <summary>The build, with the <see cref="Relink"/> pass switched off when <paramref name="relink"/> is false (for tests).</summary>
    internal static HnswIndex Build(VectorMatrix matrix, int expansionAdd, int threads, bool relink, CancellationToken cancellationToken = default)
    {
        int count = matrix.Count;
        var graph = new HnswIndex(matrix, expansionAdd, count);
        try
        {
            for (int row = 0; row < count; row++)
            {
                graph.NewNode(row);
            }

            if (count == 0)
            {
                return graph;
            }

            graph.Link(new SearchContext(), 0);
            int next = 1;
            threads = threads > 0 ? threads : Math.Max(1, Environment.ProcessorCount);
            // Threads take the next node as they come (like hnswlib's ParallelFor), so insertion runs in row order.
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken }, _ =>
            {
                var context = new SearchContext();
                int node;
                while ((node = Interlocked.Increment(ref next) - 1) < count)
                {
                    if ((node & 1023) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    graph.Link(context, node);
                }
            });
            if (relink)
            {
                graph.Relinked = graph.Relink(Math.Max(RelinkMinExpansion, 4 * expansionAdd), threads, cancellationToken);
            }

            // After the relinking, whose pruning can take the last in-link of a node away as the build's can.
            graph.Reconnected = graph.Reconnect(cancellationToken);
            return graph;
        }
        catch
        {
            graph.Dispose(); // cancelled or failed: its native links and codes go now, not never
            throw;
        }
    }

    /// <summary>
    /// Links every node that no walk from the entry point reaches on level 0 into the part that is reached, and
    /// returns the nodes it linked. The neighbour heuristic can prune away every link that points to a node (more
    /// often when threads insert side by side, as in hnswlib), and such a node is never returned, not even for its own
    /// vector: 7 of the 10,000 nodes of a tightly clustered test set. Lucene repairs its graphs the same way. Each orphan gets
    /// a link from the closest reached node found by an ordinary insertion search: one with a free slot when there is
    /// one, else the closest, whose farthest link it replaces. Costs one walk over level 0 plus one search per orphan.
    /// </summary>
    internal List<int> Reconnect(CancellationToken cancellationToken = default)
    {
        var linked = new List<int>();
        if (_entry < 0)
        {
            return linked;
        }

        var reached = new bool[_count];
        var stack = new Stack<int>();
        MarkReachable(_entry, reached, stack);
        SearchContext context = null!;
        for (int node = 0; node < _count; node++)
        {
            if (reached[node])
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            context ??= new SearchContext();
            int target = -1;
            {
                float* d = _matrix.Data;
                var view = new View(this, d);
                int found = SearchAround(view, context, node, _expansionAdd);
                for (int i = 0; i < found && target < 0; i++)
                {
                    int candidate = context.Sorted[i].Node;
                    if (reached[candidate] && _links0[(long)candidate * Stride0] < BaseConnectivity)
                    {
                        target = candidate;
                    }
                }

                if (target >= 0)
                {
                    Span<int> list = LinkList(target, 0);
                    list[list[0] + 1] = node;
                    list[0]++;
                }
                else if (found > 0 && reached[context.Sorted[0].Node])
                {
                    target = context.Sorted[0].Node;
                    Span<int> list = LinkList(target, 0);
                    float* t = view.Vector(target);
                    int farthest = 1;
                    float worst = float.MinValue;
                    for (int i = 1; i <= list[0]; i++)
                    {
                        float distance = 1f - Dot(t, view.Vector(list[i]), _dims);
                        if (distance > worst)
                        {
                            worst = distance;
                            farthest = i;
                        }
                    }

                    list[farthest] = node;
                }
            }

            if (target >= 0)
            {
                linked.Add(node);
                MarkReachable(node, reached, stack);
            }
        }

        return linked;
    }

    /// <summary>
    /// Finds nodes the insertion search placed among strangers and links them where they belong; returns the nodes
    /// relinked. In tight clusters of high-dimensional vectors (members about equally far apart, other clusters much
    /// farther) the greedy descent of an insertion now and then ends in a wrong cluster, and the node gets links to that
    /// cluster only: reachable, but a search inside its own cluster never walks to it, whatever its ef. At 1M clustered
    /// 512-d vectors about 1 % of the nodes were such, and they were most of the true neighbours still missed at ef
    /// 4096 (recall@10 flat at 0.99 from ef 640 on; hnswlib's graphs show the same plateau). A node is suspect when its
    /// nearest neighbour is more than <see cref="RelinkRatio"/> times as far as its neighbours' own nearest ones; it is
    /// searched for again with a wider beam, and closer nodes found are linked both ways as at insertion.
    /// </summary>
    internal List<int> Relink(int expansion, int threads = 0, CancellationToken cancellationToken = default)
    {
        var relinked = new List<int>();
        if (_entry < 0 || _count < 3)
        {
            return relinked;
        }

        float* d = _matrix.Data;
        var nearest = new float[_count];
        threads = threads > 0 ? threads : Math.Max(1, Environment.ProcessorCount);
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken };
        Parallel.For(0, _count, options, node =>
        {
            var view = new View(this, d);
            float* t = view.Vector(node);
            ReadOnlySpan<int> list = LinkList(node, 0);
            float best = float.PositiveInfinity;
            for (int i = 1; i <= list[0]; i++)
            {
                best = Math.Min(best, view.ExactDistance(t, list[i]));
            }

            nearest[node] = best;
        });

        var suspects = new List<int>();
        for (int node = 0; node < _count; node++)
        {
            ReadOnlySpan<int> list = LinkList(node, 0);
            if (list[0] == 0)
            {
                continue;
            }

            float sum = 0;
            for (int i = 1; i <= list[0]; i++)
            {
                sum += nearest[list[i]];
            }

            if (nearest[node] > RelinkRatio * (sum / list[0]))
            {
                suspects.Add(node);
            }
        }

        var moved = new bool[suspects.Count];
        Parallel.For(0, threads, options, worker =>
        {
            var context = new SearchContext();
            var view = new View(this, d);
            for (int s = worker; s < suspects.Count; s += threads)
            {
                int node = suspects[s];
                int found = SearchAround(view, context, node, expansion);
                if (found == 0 || context.Sorted[0].Distance >= nearest[node])
                {
                    continue;
                }

                int selected = view.SelectNeighbours(context.Sorted, found, Connectivity, context.Selected, exclude: node);
                for (int i = 0; i < selected; i++)
                {
                    view.AddBackLink(context, node, context.Selected[i].Node, 0, context.Selected[i].Distance);
                    view.AddBackLink(context, context.Selected[i].Node, node, 0, context.Selected[i].Distance);
                }

                moved[s] = true;
            }
        });

        for (int s = 0; s < suspects.Count; s++)
        {
            if (moved[s])
            {
                relinked.Add(suspects[s]);
            }
        }

        return relinked;
    }

    /// <summary>
    /// Searches level 0 for the nearest nodes of a node already in the graph, itself excluded, as an insertion would
    /// (greedy descent from the entry point, then a beam of <paramref name="expansion"/>); returns how many are in
    /// <see cref="SearchContext.Sorted"/>, nearest first.
    /// </summary>
    private int SearchAround(View view, SearchContext context, int node, int expansion)
    {
        float* q = view.Vector(node);
        int entry = _entry;
        float entryDistance = view.Distance(q, entry);
        for (int l = _topLevel; l > 0; l--)
        {
            view.Greedy(q, l, ref entry, ref entryDistance, exclude: node);
        }

        view.SearchLayer(context, q, entry, entryDistance, expansion, 0, null, forBuild: true, exclude: node);
        return context.DrainResults();
    }

    /// <summary>Marks every node a level-0 walk from <paramref name="start"/> reaches.</summary>
    private void MarkReachable(int start, bool[] reached, Stack<int> stack)
    {
        reached[start] = true;
        stack.Push(start);
        while (stack.TryPop(out int node))
        {
            ReadOnlySpan<int> list = LinkList(node, 0);
            for (int i = 1; i <= list[0]; i++)
            {
                int next = list[i];
                if (!reached[next])
                {
                    reached[next] = true;
                    stack.Push(next);
                }
            }
        }
    }

    /// <summary>Nodes that no level-0 walk from the entry point reaches (0 after a build, unless edits orphaned some).</summary>
    internal int CountUnreachable()
    {
        if (_entry < 0)
        {
            return 0;
        }

        var reached = new bool[_count];
        MarkReachable(_entry, reached, new Stack<int>());
        return reached.Count(r => !r);
    }

    /// <summary>Inserts or replaces an item in the matrix and mirrors it in the graph when there is one.</summary>
    public static void Upsert(VectorMatrix matrix, HnswIndex? graph, CollectionItem item, ReadOnlySpan<float> unitVector)
    {
        if (graph is not null && matrix.TryGetRow(item.Id, out int old))
        {
            graph.Detach(old); // before the row is overwritten: the tombstone keeps the old vector
        }

        matrix.Upsert(item, unitVector);
        if (graph is not null && matrix.TryGetRow(item.Id, out int row))
        {
            graph.Insert(row);
        }
    }

    /// <summary>Removes an item from the matrix and the graph; false when the matrix does not hold it.</summary>
    public static bool Remove(VectorMatrix matrix, HnswIndex? graph, long id)
    {
        if (!matrix.TryGetRow(id, out int row))
        {
            return false;
        }

        graph?.Detach(row);
        int last = matrix.Count - 1;
        matrix.Remove(id);
        if (row != last)
        {
            graph?.Moved(last, row);
        }

        return true;
    }

    /// <summary>Adds the matrix row <paramref name="row"/> (just added or replaced there) as a new node.</summary>
    public void Insert(int row)
    {
        int node = NewNode(row);
        Link(SearchContext.ForThread(), node);
    }

    /// <summary>
    /// Makes the node of matrix row <paramref name="row"/> a tombstone, keeping a copy of its vector. Call before the
    /// matrix row changes (removed or overwritten).
    /// </summary>
    public void Detach(int row)
    {
        int node = _nodeOfRow[row];
        if ((uint)node >= (uint)_count || _rowOfNode[node] != row)
        {
            return;
        }

        float* copy = (float*)NativeMemory.Alloc((nuint)_dims, sizeof(float));
        _matrix.Row(row).CopyTo(new Span<float>(copy, _dims));
        if (_removedCount == _removed.Length)
        {
            Array.Resize(ref _removed, Math.Max(16, _removedCount * 2));
        }

        _removed[_removedCount] = (nint)copy;
        _rowOfNode[node] = ~_removedCount;
        _removedCount++;
        _nodeOfRow[row] = -1;
    }

    /// <summary>The matrix moved the item at row <paramref name="from"/> to row <paramref name="to"/> (a removal filled its hole).</summary>
    public void Moved(int from, int to)
    {
        int node = _nodeOfRow[from];
        if ((uint)node < (uint)_count && _rowOfNode[node] == from)
        {
            _rowOfNode[node] = to;
            EnsureRowCapacity(to);
            _nodeOfRow[to] = node;
        }

        _nodeOfRow[from] = -1;
    }

    /// <summary>
    /// Nearest <paramref name="count"/> keys (item ids), best first, exploring <paramref name="expansion"/> candidates
    /// (ef); scores are cosine similarities. Only ids set in <paramref name="allowed"/> are returned, when given.
    /// </summary>
    public int Search(ReadOnlySpan<float> query, int count, Span<ulong> keys, Span<float> scores, IdBitmap? allowed = null, int expansion = DefaultExpansionSearch)
        => Search(query, count, keys, scores, allowed, expansion, walkCodes: true, RescoreDeviations);

    /// <summary>
    /// <see cref="Search(ReadOnlySpan{float}, int, Span{ulong}, Span{float}, IdBitmap?, int)"/> with the walk chosen:
    /// on the codes when <paramref name="walkCodes"/> and the graph has them (else on the float32 rows); with codes,
    /// the results re-scored are those within <paramref name="deviations"/> standard deviations of the codes' error
    /// of the <paramref name="count"/>-th (<see cref="float.PositiveInfinity"/>: all ef of them); level 1 searched with
    /// a beam of <paramref name="levelOneBeam"/> (negative: <see cref="LevelOneBeam(int)"/> of ef; 1: greedily).
    /// </summary>
    internal int Search(ReadOnlySpan<float> query, int count, Span<ulong> keys, Span<float> scores, IdBitmap? allowed, int expansion, bool walkCodes, float deviations,
        int levelOneBeam = -1)
    {
        if (query.Length < _dims)
        {
            throw new ArgumentException($"The query has {query.Length} dimensions; the graph {_dims}.", nameof(query));
        }

        count = Math.Min(count, Math.Min(keys.Length, scores.Length));
        if (_entry < 0 || count <= 0 || Size == 0)
        {
            return 0;
        }

        int ef = Math.Max(count, Math.Clamp(expansion, 1, MaxExpansion));
        if (levelOneBeam < 0)
        {
            levelOneBeam = LevelOneBeam(ef);
        }

        SearchContext context = SearchContext.ForThread();
        float* d = _matrix.Data;
        long[] ids = _matrix.Ids;
        int found;
        fixed (float* q = query)
        {
            // With codes the walk reads them, and the results it keeps are re-scored with the float16 rows.
            byte* codes = walkCodes ? _codes : null;
            var view = new View(this, d, codes);
            int entry = _entry;
            float entryDistance = view.Distance(q, entry);
            int seeds = 0;
            for (int level = _topLevel; level > 0; level--)
            {
                if (level == 1 && levelOneBeam > 1)
                {
                    // Navigation only: removed nodes and the filter do not apply until level 0, which starts from all the beam kept.
                    view.SearchLayer(context, q, entry, entryDistance, levelOneBeam, 1, null, forBuild: true);
                    seeds = context.DrainResults();
                }
                else
                {
                    view.Greedy(q, level, ref entry, ref entryDistance);
                }
            }

            if (seeds > 0)
            {
                // The beam's results are still in Sorted: the search reads its entries before it writes anything, and
                // only the heaps (Sorted is refilled by the drain after it).
                view.SearchLayer(context, q, context.Sorted.AsSpan(0, seeds), ef, 0, allowed, forBuild: false);
            }
            else
            {
                view.SearchLayer(context, q, entry, entryDistance, ef, 0, allowed, forBuild: false);
            }

            found = context.DrainResults();
            if (codes is not null)
            {
                found = Rescore(view, q, context, found, count, deviations);
            }
        }

        int n = Math.Min(count, found);
        for (int i = 0; i < n; i++)
        {
            (float distance, int node) = context.Sorted[i];
            keys[i] = (ulong)ids[_rowOfNode[node]];
            scores[i] = 1f - distance;
        }

        return n;
    }

    public void Dispose()
    {
        FreeCodes();
        if (_links0 is not null)
        {
            LargePages.Free(_links0);
            _links0 = null;
            _links0Nodes = 0;
        }

        for (int i = 0; i < _removedCount; i++)
        {
            NativeMemory.Free((void*)_removed[i]);
        }

        _removedCount = 0;
        _removed = [];
    }

    private int NewNode(int row)
    {
        int node = _count;
        if (node == _levels.Length)
        {
            int capacity = checked(Math.Max(16, node + (node / 2)));
            AllocateLinks0(capacity);
            Array.Resize(ref _upper, capacity);
            Array.Resize(ref _levels, capacity);
            Array.Resize(ref _rowOfNode, capacity);
        }

        int level = LevelOf(node);
        _levels[node] = (byte)level;
        _upper[node] = level > 0 ? new int[level * StrideUp] : null;
        _links0[(long)node * Stride0] = 0;
        _rowOfNode[node] = row;
        EnsureRowCapacity(row);
        _nodeOfRow[row] = node;
        _count = node + 1;
        EncodeNew(node);
        return node;
    }

    /// <summary>
    /// Gives the level-0 links room for <paramref name="nodes"/> nodes, keeping those there and zeroing the rest (the
    /// graph's largest array, read at random by every walk: native memory on huge pages, see <see cref="LargePages"/>).
    /// Resizing frees the old block, so like every write it is serialised with searches by the owner.
    /// </summary>
    private void AllocateLinks0(long nodes)
    {
        nuint bytes = checked((nuint)(nodes * Stride0 * sizeof(int)));
        nuint kept = (nuint)(Math.Min(nodes, _links0Nodes) * Stride0 * sizeof(int));
        _links0 = (int*)(_links0 is null ? LargePages.Alloc(bytes) : LargePages.Realloc(_links0, bytes));
        NativeMemory.Clear((byte*)_links0 + kept, bytes - kept);
        _links0Nodes = nodes;
    }

    private void EnsureRowCapacity(int row)
    {
        if (row >= _nodeOfRow.Length)
        {
            Array.Resize(ref _nodeOfRow, Math.Max(row + 1, Math.Max(_matrix.Capacity, _nodeOfRow.Length * 2)));
        }
    }

    /// <summary>The level of a node: -ln(U)/ln(M), with U drawn from a hash of the node number (reproducible builds).</summary>
    private static int LevelOf(int node)
    {
        ulong z = ((ulong)node + 1) * LevelSeed;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        double u = ((z >> 11) + 1) * (1.0 / (1UL << 53)); // (0, 1]
        return Math.Min(MaxLevels, (int)(-Math.Log(u) * LevelScale));
    }

    /// <summary>Connects a node that has its vector and level but no links yet (hnswlib's addPoint).</summary>
    private void Link(SearchContext context, int node)
    {
        int level = _levels[node];
        int entry;
        int top;
        lock (_entryGate)
        {
            entry = _entry;
            top = _topLevel;
            if (entry < 0)
            {
                _entry = node;
                _topLevel = level;
                return;
            }
        }

        {
            float* d = _matrix.Data;
            var view = new View(this, d);
            float* q = view.Vector(node);
            float entryDistance = view.Distance(q, entry);
            for (int l = top; l > level; l--)
            {
                view.Greedy(q, l, ref entry, ref entryDistance, exclude: node);
            }

            for (int l = Math.Min(level, top); l >= 0; l--)
            {
                // The node itself is never a result: another thread may already link to it (it took this node as an entry
                // point on a higher level), and walking into it would leave the node without links.
                view.SearchLayer(context, q, entry, entryDistance, _expansionAdd, l, null, forBuild: true, exclude: node);
                int found = context.DrainResults();
                int selected = view.SelectNeighbours(context.Sorted, found, Connectivity, context.Selected, exclude: node);
                for (int i = 0; i < selected; i++)
                {
                    // Added like back links, not written over: links other threads gave this node meanwhile are kept.
                    view.AddBackLink(context, node, context.Selected[i].Node, l, context.Selected[i].Distance);
                }

                for (int i = 0; i < selected; i++)
                {
                    view.AddBackLink(context, context.Selected[i].Node, node, l, context.Selected[i].Distance);
                }

                entry = context.Sorted[0].Node;
                entryDistance = context.Sorted[0].Distance;
            }
        }

        if (level > top)
        {
            lock (_entryGate)
            {
                if (level > _topLevel)
                {
                    _topLevel = level;
                    _entry = node;
                }
            }
        }
    }

    /// <summary>A node's links on level 0 (for tests).</summary>
    internal ReadOnlySpan<int> Neighbours(int node)
    {
        ReadOnlySpan<int> list = LinkList(node, 0);
        return list.Slice(1, list[0]);
    }

    private Span<int> LinkList(int node, int level) => level == 0
        ? new Span<int>(_links0 + ((long)node * Stride0), Stride0)
        : _upper[node].AsSpan((level - 1) * StrideUp, StrideUp);

    private void LockNode(int node)
    {
        ref int gate = ref _locks[node & (LockStripes - 1)];
        if (Interlocked.CompareExchange(ref gate, 1, 0) == 0)
        {
            return;
        }

        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref gate, 1, 0) != 0)
        {
            spin.SpinOnce();
        }
    }

    private void UnlockNode(int node) => Volatile.Write(ref _locks[node & (LockStripes - 1)], 0);

    /// <summary>
    /// Dot product of two vectors of <paramref name="n"/> floats: AVX-512 when the CPU runs it at full speed (.NET's
    /// <see cref="Vector512.IsHardwareAccelerated"/>), else AVX2 + FMA, else portable SIMD; each sums its lanes in one fixed order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Dot(float* a, float* b, int n)
    {
        if (Vector512.IsHardwareAccelerated && (n & 63) == 0)
        {
            Vector512<float> s0 = Vector512<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0; i < n; i += 64)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 32), Vector512.Load(b + i + 32), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 48), Vector512.Load(b + i + 48), s3);
            }

            return DotKernel.Sum((s0 + s1) + (s2 + s3));
        }

        if (Vector256.IsHardwareAccelerated && (n & 31) == 0)
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0; i < n; i += 32)
            {
                s0 = MultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), s0);
                s1 = MultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), s1);
                s2 = MultiplyAdd(Vector256.Load(a + i + 16), Vector256.Load(b + i + 16), s2);
                s3 = MultiplyAdd(Vector256.Load(a + i + 24), Vector256.Load(b + i + 24), s3);
            }

            return DotKernel.Sum((s0 + s1) + (s2 + s3));
        }

        return System.Numerics.Tensors.TensorPrimitives.Dot(new ReadOnlySpan<float>(a, n), new ReadOnlySpan<float>(b, n));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(void* p)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(p);
        }
    }

    /// <summary>The graph's arrays pinned for one operation (the matrix data is pinned by the caller).</summary>
    private readonly ref struct View
    {
        private readonly HnswIndex _g;
        private readonly float* _data;
        private readonly byte* _codes;
        private readonly float[] _scales;
        private readonly int _dims;

        /// <param name="graph">The graph.</param>
        /// <param name="data">The matrix's first float.</param>
        /// <param name="codes">The graph's int8 codes, for a walk on them; null: the walk reads the float32 rows.</param>
        public View(HnswIndex graph, float* data, byte* codes = null)
        {
            _g = graph;
            _data = data;
            _codes = codes;
            _scales = graph._codeScales;
            _dims = graph._dims;
        }

        public int Dimensions => _dims;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* Vector(int node)
        {
            int row = _g._rowOfNode[node];
            return row >= 0 ? _data + ((long)row * _dims) : (float*)_g._removed[~row];
        }

        /// <summary>What the walk reads for a node: its code, or its float32 vector.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private byte* Walked(int node) => _codes is not null ? _codes + ((long)node * _dims) : (byte*)Vector(node);

        /// <summary>The walk's distance: from the code when the view has codes, else exact.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Distance(float* q, int node) => _codes is not null
            ? 1f - (_scales[node] * DotCode(q, (sbyte*)(_codes + ((long)node * _dims)), _dims))
            : 1f - Dot(q, Vector(node), _dims);

        /// <summary>The float32 distance, codes or not.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float ExactDistance(float* q, int node) => 1f - Dot(q, Vector(node), _dims);

        /// <summary>Greedy walk on an upper level (ef 1): move to the closest neighbour until none is closer.</summary>
        public void Greedy(float* q, int level, ref int node, ref float distance, int exclude = -1)
        {
            bool changed = true;
            while (changed)
            {
                changed = false;
                int[]? up = _g._upper[node];
                if (up is null || level > _g._levels[node])
                {
                    return;
                }

                int at = (level - 1) * StrideUp;
                int n = Math.Min(Volatile.Read(ref up[at]), Connectivity);
                for (int i = 1; i <= n; i++)
                {
                    int next = up[at + i];
                    if (next == exclude)
                    {
                        continue;
                    }

                    float d = Distance(q, next);
                    if (d < distance)
                    {
                        distance = d;
                        node = next;
                        changed = true;
                    }
                }
            }
        }

        /// <summary>
        /// Beam search on one level from <paramref name="entry"/>: leaves up to <paramref name="ef"/> results (nodes
        /// that pass <paramref name="allowed"/> and are not removed, unless <paramref name="forBuild"/>) in the
        /// context's result heap.
        /// </summary>
        public void SearchLayer(SearchContext c, float* q, int entry, float entryDistance, int ef, int level, IdBitmap? allowed, bool forBuild, int exclude = -1)
        {
            (float Distance, int Node) seed = (entryDistance, entry);
            SearchLayer(c, q, new ReadOnlySpan<(float Distance, int Node)>(ref seed), ef, level, allowed, forBuild, exclude);
        }

        /// <summary>The same search started from every node of <paramref name="entries"/> (with their distances) at once.</summary>
        public void SearchLayer(SearchContext c, float* q, ReadOnlySpan<(float Distance, int Node)> entries, int ef, int level, IdBitmap? allowed, bool forBuild, int exclude = -1)
        {
            HnswIndex g = _g;
            ushort tag = c.NextTag(g._count);
            ushort[] visited = c.Visited;
            MaxHeap candidates = c.Candidates; // keyed by -distance
            MaxHeap results = c.Results;
            candidates.Clear();
            results.Clear();
            int[] rowOfNode = g._rowOfNode;
            long[] ids = g._matrix.Ids;
            ulong[]? bits = allowed?.Words;
            bool filtered = !forBuild && (bits is not null || g._removedCount > 0);

            if (exclude >= 0)
            {
                visited[exclude] = tag;
            }

            foreach ((float entryDistance, int entry) in entries)
            {
                if (visited[entry] == tag)
                {
                    continue;
                }

                visited[entry] = tag;
                if (forBuild || Accepts(rowOfNode, ids, bits, entry))
                {
                    results.Push(entryDistance, entry);
                    if (results.Count > ef)
                    {
                        results.Pop();
                    }
                }

                candidates.Push(-entryDistance, entry);
            }

            float bound = results.Count > 0 ? results.TopDistance : float.MaxValue;
            int* fresh = stackalloc int[BaseConnectivity];
            int* links0 = g._links0;
            while (candidates.Count > 0)
            {
                float cd = -candidates.TopDistance;
                if (cd > bound && (results.Count >= ef || !filtered))
                {
                    break;
                }

                int current = candidates.Pop();
                int* list;
                int n;
                if (level == 0)
                {
                    list = links0 + ((long)current * Stride0);
                    n = Math.Min(Volatile.Read(ref *list), BaseConnectivity);
                }
                else
                {
                    int[]? up = g._upper[current];
                    if (up is null || level > g._levels[current])
                    {
                        continue;
                    }

                    fixed (int* u = &up[(level - 1) * StrideUp])
                    {
                        n = Math.Min(Volatile.Read(ref *u), Connectivity);
                        for (int i = 1; i <= n; i++)
                        {
                            c.Scratch[i] = u[i];
                        }
                    }

                    fixed (int* s = c.Scratch)
                    {
                        Expand(c, q, s, n, ef, ref bound, visited, tag, rowOfNode, ids, bits, forBuild, fresh);
                    }

                    continue;
                }

                Expand(c, q, list, n, ef, ref bound, visited, tag, rowOfNode, ids, bits, forBuild, fresh);
            }
        }

        /// <summary>
        /// Scores the unvisited neighbours in <paramref name="list"/> and admits the close ones. At 512-d a vector is
        /// 2 KiB (32 cache lines) read from a random place, so the walk is bound by memory latency: the first line of
        /// every unvisited neighbour is requested up front, and each vector in full while the one before is scored.
        /// (Prefetching only the next neighbour's first lines, like hnswlib, was 1.6× slower here.)
        /// </summary>
        private void Expand(SearchContext c, float* q, int* list, int n, int ef, ref float bound, ushort[] visited, ushort tag,
            int[] rowOfNode, long[] ids, ulong[]? bits, bool forBuild, int* fresh)
        {
            MaxHeap candidates = c.Candidates; // keyed by -distance
            MaxHeap results = c.Results;
            int m = 0;
            for (int i = 1; i <= n; i++)
            {
                int next = list[i];
                if (visited[next] != tag)
                {
                    visited[next] = tag;
                    fresh[m++] = next;
                    Prefetch(Walked(next));
                }
            }

            int vectorBytes = _codes is not null ? _dims : _dims * sizeof(float);
            for (int i = 0; i < m; i++)
            {
                int next = fresh[i];
                if (i + 1 < m)
                {
                    byte* p = Walked(fresh[i + 1]);
                    for (int offset = 64; offset < vectorBytes; offset += 64)
                    {
                        Prefetch(p + offset);
                    }
                }

                float d = Distance(q, next);
                if (results.Count < ef || d < bound)
                {
                    candidates.Push(-d, next);
                    if (forBuild || Accepts(rowOfNode, ids, bits, next))
                    {
                        results.Push(d, next);
                        if (results.Count > ef)
                        {
                            results.Pop();
                        }
                    }

                    if (results.Count > 0)
                    {
                        bound = results.TopDistance;
                    }
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool Accepts(int[] rowOfNode, long[] ids, ulong[]? bits, int node)
        {
            int row = rowOfNode[node];
            if (row < 0)
            {
                return false;
            }

            if (bits is null)
            {
                return true;
            }

            ulong id = (ulong)ids[row];
            ulong word = id >> 6;
            return word < (ulong)bits.Length && (bits[word] & (1UL << (int)(id & 63))) != 0;
        }

        /// <summary>
        /// hnswlib's neighbour heuristic: walk candidates from the closest, keep one only if it is closer to the base
        /// than to every one kept so far, until <paramref name="m"/> are kept.
        /// </summary>
        public int SelectNeighbours(ReadOnlySpan<(float Distance, int Node)> sorted, int count, int m, (float Distance, int Node)[] selected, int exclude)
        {
            int kept = 0;
            if (count <= m)
            {
                // Fewer candidates than links: keep them all (hnswlib does the same; it matters on the sparse upper levels).
                for (int i = 0; i < count; i++)
                {
                    if (sorted[i].Node != exclude)
                    {
                        selected[kept++] = sorted[i];
                    }
                }

                return kept;
            }

            for (int i = 0; i < count && kept < m; i++)
            {
                (float d, int node) = sorted[i];
                if (node == exclude)
                {
                    continue;
                }

                float* v = Vector(node);
                bool good = true;
                for (int j = 0; j < kept; j++)
                {
                    if (1f - Dot(v, Vector(selected[j].Node), _dims) < d)
                    {
                        good = false;
                        break;
                    }
                }

                if (good)
                {
                    selected[kept++] = (d, node);
                }
            }

            return kept;
        }

        /// <summary>Adds <paramref name="node"/> to the links of <paramref name="target"/>, pruning with the heuristic when full.</summary>
        public void AddBackLink(SearchContext c, int target, int node, int level, float distance)
        {
            int cap = level == 0 ? BaseConnectivity : Connectivity;
            Span<int> list = _g.LinkList(target, level);
            _g.LockNode(target);
            try
            {
                int n = Math.Min(list[0], cap);
                for (int i = 1; i <= n; i++)
                {
                    if (list[i] == node)
                    {
                        return;
                    }
                }

                if (n < cap)
                {
                    list[n + 1] = node;
                    Volatile.Write(ref list[0], n + 1);
                    return;
                }

                // Full: keep the best of the current links plus the new one, by the same heuristic.
                float* t = Vector(target);
                (float Distance, int Node)[] pool = c.Pool;
                pool[0] = (distance, node);
                for (int i = 1; i <= n; i++)
                {
                    pool[i] = (1f - Dot(t, Vector(list[i]), _dims), list[i]);
                }

                Span<(float Distance, int Node)> all = pool.AsSpan(0, n + 1);
                all.Sort(static (a, b) => a.Distance.CompareTo(b.Distance));
                int kept = SelectNeighbours(all, all.Length, cap, c.Pruned, exclude: target);
                for (int i = 0; i < kept; i++)
                {
                    list[i + 1] = c.Pruned[i].Node;
                }

                Volatile.Write(ref list[0], kept);
            }
            finally
            {
                _g.UnlockNode(target);
            }
        }
    }
}

/// <summary>Set of allowed item ids as a bitmap indexed by id (ids are dense: SQLite rowids).</summary>
internal sealed class IdBitmap
{
    public IdBitmap(long maxId) => Words = new ulong[(maxId >> 6) + 1];

    public ulong[] Words { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(long id) => Words[id >> 6] |= 1UL << (int)(id & 63);
}
