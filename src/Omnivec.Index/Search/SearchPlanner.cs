using Omnivec.Index.Hnsw;

namespace Omnivec.Index.Search;

/// <summary>
/// Decides how the embedded store answers a search or a duplicate scan — exact scan, HNSW graph, graph with an
/// in-walk filter, or exact over a selective filter's rows — and runs it over the derived-index cache.
/// </summary>
internal sealed class SearchPlanner
{
    // Duplicates: below this many candidate items all pairs are compared exactly; above, HNSW neighbours are used.
    private const int ExactDuplicatePairsLimit = 3_000;
    private const int DuplicateNeighbours = 16;

    private readonly DerivedIndexCache _cache;

    public SearchPlanner(DerivedIndexCache cache) => _cache = cache;

    /// <summary>Item count from which <see cref="SearchMode.Auto"/> prefers an up-to-date HNSW graph over a full scan.</summary>
    public int ApproximateThreshold { get; set; } = Collection.DefaultApproximateThreshold;

    /// <summary>Approximate searches whose filter allows fewer rows than this go exact over the allowed rows.</summary>
    public int SelectiveFilterRows { get; set; } = 5_000;

    /// <summary>… or fewer than this fraction of all rows.</summary>
    public double SelectiveFilterFraction { get; set; } = 0.1;

    /// <summary>Answers unit-norm <paramref name="queries"/>; one hit list per query, best first.</summary>
    public IReadOnlyList<SearchHit>[] Search(float[][] queries, int top, SearchFilter? filter, SearchMode mode, int expansion) =>
        Search(queries, top, filter, mode, expansion, static (m, raw) =>
        {
            // Only the hits' records are needed: one read for all of them when the matrix came from the snapshot.
            if (!m.EnsureItems(raw.SelectMany(r => r).Select(h => h.Row)))
            {
                return null;
            }

            var results = new IReadOnlyList<SearchHit>[raw.Length];
            for (int i = 0; i < raw.Length; i++)
            {
                results[i] = ToHits(m, raw[i]);
            }

            return results;
        });

    /// <summary>The hits of <see cref="Search(float[][], int, SearchFilter?, SearchMode, int)"/> as ids and scores, without reading any record.</summary>
    public ScoredId[][] SearchScores(float[][] queries, int top, SearchFilter? filter, SearchMode mode, int expansion) =>
        Search(queries, top, filter, mode, expansion, static (m, raw) =>
        {
            var results = new ScoredId[raw.Length][];
            for (int i = 0; i < raw.Length; i++)
            {
                var scores = new ScoredId[raw[i].Length];
                for (int j = 0; j < scores.Length; j++)
                {
                    scores[j] = new ScoredId(m.Ids[raw[i][j].Row], raw[i][j].Score);
                }

                results[i] = scores;
            }

            return results;
        });

    /// <summary>
    /// Runs the queries and turns each query's rows and scores into results with <paramref name="finish"/>, under the
    /// read lock of the matrix they index; <paramref name="finish"/> returns null when the database moved on (load again).
    /// </summary>
    private T[] Search<T>(float[][] queries, int top, SearchFilter? filter, SearchMode mode, int expansion, Func<VectorMatrix, (int Row, float Score)[][], T[]?> finish)
        where T : class
    {
        while (true)
        {
            _cache.EnsureMatrix();
            int count = _cache.LoadedCount;
            bool approximate = mode switch
            {
                SearchMode.Exact => false,
                SearchMode.Approximate => count > 0,
                _ => count >= ApproximateThreshold && _cache.EnsureHnsw(build: false),
            };
            if (approximate)
            {
                _cache.EnsureHnsw(build: true);
            }

            if (_cache.TryRead(approximate, (m, hnsw) => Run(m, approximate ? hnsw : null, queries, top, filter, expansion) is { } raw ? finish(m, raw) : null, out T[]? results)
                && results is not null)
            {
                return results;
            }

            // Dropped by a concurrent reload, or the database moved on before the hits' records were read: load again.
        }
    }

    /// <summary>Groups of near-identical items among those <paramref name="filter"/> allows.</summary>
    public IReadOnlyList<DuplicateGroup> FindDuplicates(float threshold, SearchFilter? filter, CancellationToken cancellationToken)
    {
        bool large = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _cache.EnsureMatrix();
            if (large)
            {
                _cache.EnsureHnsw(build: true, cancellationToken);
            }

            bool needGraph = false;
            if (_cache.TryRead(needHnsw: false, (m, hnsw) =>
                {
                    if (!m.EnsureAllItems())
                    {
                        return null; // the database moved on: load again
                    }

                    RowSet? allowed = filter is null || filter.IsEmpty ? null : m.Select(filter);
                    List<int> rows = allowed?.Rows ?? [.. Enumerable.Range(0, m.Count)];
                    if (rows.Count > ExactDuplicatePairsLimit && hnsw is null)
                    {
                        needGraph = true;
                        return null;
                    }

                    return Duplicates.Find(m, rows, allowed, threshold, rows.Count > ExactDuplicatePairsLimit ? hnsw : null, DuplicateNeighbours);
                }, out IReadOnlyList<DuplicateGroup>? groups) && groups is not null)
            {
                return groups;
            }

            large |= needGraph;
        }
    }

    /// <summary>The rows and scores of each query's hits; null when a filter's items could not be read for this matrix (load again).</summary>
    private (int Row, float Score)[][]? Run(VectorMatrix m, HnswIndex? hnsw, float[][] queries, int top, SearchFilter? filter, int expansion)
    {
        bool filtered = filter is not null && !filter.IsEmpty;
        if (filtered && !m.EnsureAllItems())
        {
            return null;
        }

        RowSet? allowed = filtered ? m.Select(filter!) : null;
        (int Row, float Score)[][] raw;
        if (hnsw is null || UseExactForFilter(m, allowed, top))
        {
            raw = queries.Length == 1
                ? [ExactSearch.Search(m, queries[0], top, allowed)]
                : ExactSearch.SearchBatch(m, queries, top, allowed);
        }
        else
        {
            raw = RunApproximate(m, hnsw, queries, top, allowed, expansion);
        }

        return raw;
    }

    private static (int Row, float Score)[][] RunApproximate(VectorMatrix m, HnswIndex hnsw, float[][] queries, int top, RowSet? allowed, int expansion)
    {
        var results = new (int Row, float Score)[queries.Length][];
        IdBitmap? ids = null;
        if (allowed is not null)
        {
            ids = new IdBitmap(m.MaxId);
            foreach (int row in allowed.Rows)
            {
                ids.Set(m.Ids[row]);
            }
        }

        int expected = Math.Min(top, allowed?.Count ?? m.Count);
        if (queries.Length == 1)
        {
            // One query runs on the caller's thread: a Parallel.For would wake a pool thread for nothing.
            results[0] = ApproximateSearch(m, hnsw, queries[0], top, allowed, ids, expected, expansion);
            return results;
        }

        Parallel.For(0, queries.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            results[i] = ApproximateSearch(m, hnsw, queries[i], top, allowed, ids, expected, expansion);
        });
        return results;
    }

    /// <summary>
    /// Selective filters go exact over the allowed rows: cheap, and a graph walk restricted to a small subset
    /// loses recall. Broad filters are applied inside the HNSW traversal (the walk keeps only allowed nodes as results).
    /// </summary>
    private bool UseExactForFilter(VectorMatrix m, RowSet? allowed, int top) =>
        allowed is not null && (allowed.Count < m.Count * SelectiveFilterFraction || allowed.Count < Math.Max(SelectiveFilterRows, top * 4));

    private static (int Row, float Score)[] ApproximateSearch(VectorMatrix m, HnswIndex hnsw, float[] query, int top, RowSet? allowed, IdBitmap? ids, int expected,
        int expansion)
    {
        Span<ulong> keys = top <= 256 ? stackalloc ulong[top] : new ulong[top];
        Span<float> scores = top <= 256 ? stackalloc float[top] : new float[top];
        int found = hnsw.Search(query, top, keys, scores, ids, expansion);
        var hits = new List<(int Row, float Score)>(found);
        for (int i = 0; i < found; i++)
        {
            if (m.TryGetRow((long)keys[i], out int row))
            {
                hits.Add((row, scores[i]));
            }
        }

        // A graph walk that could not reach enough allowed nodes falls back to the exact answer.
        return hits.Count >= expected ? [.. hits] : ExactSearch.Search(m, query, top, allowed);
    }

    private static SearchHit[] ToHits(VectorMatrix m, (int Row, float Score)[] raw)
    {
        var hits = new SearchHit[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            hits[i] = new SearchHit(m.Item(raw[i].Row), raw[i].Score);
        }

        return hits;
    }
}
