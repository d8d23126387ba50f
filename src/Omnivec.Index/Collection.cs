using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Omnivec.Index.Hnsw;
using Omnivec.Index.Search;
using Omnivec.Index.Storage;

namespace Omnivec.Index;

/// <summary>
/// One collection: items with metadata and one unit vector each, in one embedding space.
/// SQLite (collection.db) is the source of truth; the vector matrix (loaded lazily, snapshotted to vectors.snapshot)
/// and the HNSW graph (hnsw.index) are derived and rebuilt whenever their generation or checksum does not match.
/// Searches may run concurrently; writes are serialised, and only one process at a time may write.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "Collection is the domain term used by the CLI and docs (omnivec collections).")]
public sealed class Collection : IDisposable
{
    /// <summary>Default item count from which <see cref="SearchMode.Auto"/> uses the HNSW graph (when one is up to date).</summary>
    public const int DefaultApproximateThreshold = 20_000;

    /// <summary>Largest <c>top</c> a search accepts.</summary>
    public const int MaxTop = 10_000;

    /// <summary>Default <see cref="SearchExpansion"/> (HNSW ef).</summary>
    public const int DefaultSearchExpansion = HnswIndex.DefaultExpansionSearch;

    /// <summary>Default <see cref="BuildExpansion"/> (HNSW ef_construction).</summary>
    public const int DefaultBuildExpansion = HnswIndex.DefaultExpansionAdd;

    internal const string SnapshotFileName = "vectors.snapshot";
    internal const string HnswFileName = "hnsw.index";
    internal const string LockFileName = "write.lock";

    // Duplicates: below this many candidate items all pairs are compared exactly; above, HNSW neighbours are used.
    private const int ExactDuplicatePairsLimit = 3_000;
    private const int DuplicateNeighbours = 16;

    private readonly string _directory;
    private readonly Guid _instanceId;
    private readonly SqliteConnection _reader;
    private readonly Lock _readerGate = new();
    private readonly Lock _writeGate = new();
    private readonly ReaderWriterLockSlim _stateLock = new(LockRecursionPolicy.NoRecursion);
    private FileStream? _writeLock;
    private SqliteConnection? _writer;
    private VectorMatrix? _matrix;
    private HnswIndex? _hnsw;
    private long _persistedMatrixGeneration = -1;
    private long _persistedHnswGeneration = -1;
    private long _hnswFileCheckedGeneration = -1;
    private bool _disposed;
    private int _searchExpansion = HnswIndex.DefaultExpansionSearch;
    private int _buildExpansion = HnswIndex.DefaultExpansionAdd;

    internal Collection(string name, string directory, FileStream? writeLock)
    {
        Name = name;
        _directory = directory;
        _writeLock = writeLock;
        _reader = CollectionDb.Open(DbPath, create: false);
        try
        {
            Dictionary<string, string> meta = CollectionDb.ReadMeta(_reader);
            Space = CollectionDb.SpaceFromMeta(meta, DbPath);
            _instanceId = meta.TryGetValue("instance_id", out string? id) && Guid.TryParse(id, out Guid g) ? g : Guid.Empty;
        }
        catch (SqliteException e)
        {
            _reader.Dispose();
            throw new CollectionCorruptException($"{DbPath} is not a readable Omnivec collection: {e.Message}", e);
        }
        catch
        {
            _reader.Dispose();
            throw;
        }
    }

    public string Name { get; }

    public EmbeddingSpace Space { get; }

    /// <summary>Number of items committed (read from the database, so it includes other processes' writes).</summary>
    public long Count
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            lock (_readerGate)
            {
                return CollectionDb.Count(_reader);
            }
        }
    }

    /// <summary>Item count from which <see cref="SearchMode.Auto"/> prefers an up-to-date HNSW graph over a full scan.</summary>
    public int ApproximateThreshold { get; set; } = DefaultApproximateThreshold;

    /// <summary>
    /// HNSW search expansion (ef) for approximate searches that do not pass their own: how many candidates the graph
    /// walk keeps. Higher is slower and more accurate; 64 measured recall@10 0.99–1.00 on 100k clustered 512-d
    /// vectors. Between 1 and 4096; a value below the number of results asked for acts as that number.
    /// </summary>
    public int SearchExpansion
    {
        get => _searchExpansion;
        set => _searchExpansion = ValidateExpansion(value, nameof(SearchExpansion));
    }

    /// <summary>
    /// HNSW construction expansion (ef_construction) for graphs built from now on (by <see cref="Optimize()"/> or on
    /// first approximate search): higher builds more slowly and gives a better graph. Between 1 and 4096.
    /// </summary>
    public int BuildExpansion
    {
        get => _buildExpansion;
        set => _buildExpansion = ValidateExpansion(value, nameof(BuildExpansion));
    }

    /// <summary>Approximate searches whose filter allows fewer rows than this go exact over the allowed rows.</summary>
    internal int SelectiveFilterRows { get; set; } = 5_000;

    /// <summary>… or fewer than this fraction of all rows.</summary>
    internal double SelectiveFilterFraction { get; set; } = 0.1;

    /// <summary>Where the current in-memory matrix came from (for tests and diagnostics).</summary>
    internal LoadSource MatrixSource { get; private set; }

    /// <summary>Where the current HNSW graph came from (for tests and diagnostics).</summary>
    internal LoadSource HnswSource { get; private set; }

    internal string DbPath => Path.Combine(_directory, CollectionDb.FileName);

    internal string SnapshotPath => Path.Combine(_directory, SnapshotFileName);

    internal string HnswPath => Path.Combine(_directory, HnswFileName);

    /// <summary>
    /// Inserts or replaces (by path) items with their vectors in one transaction: all are committed or none.
    /// Vectors must have <see cref="EmbeddingSpace.Dimensions"/> finite, not-all-zero values; they are stored normalised.
    /// </summary>
    /// <returns>The id of each item, in input order.</returns>
    public IReadOnlyList<long> Upsert(IReadOnlyList<CollectionItem> items, IReadOnlyList<ReadOnlyMemory<float>> vectors)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(vectors);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (items.Count != vectors.Count)
        {
            throw new InvalidInputException($"Upsert got {items.Count} items but {vectors.Count} vectors; they must pair up.");
        }

        int dims = Space.Dimensions;
        float[] unit = new float[(long)items.Count * dims];
        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < items.Count; i++)
        {
            CollectionItem item = items[i] ?? throw new InvalidInputException($"Item {i} is null.");
            if (string.IsNullOrEmpty(item.Path))
            {
                throw new InvalidInputException($"Item {i} has no path.");
            }

            if (!paths.Add(item.Path))
            {
                throw new InvalidInputException($"Path '{item.Path}' appears twice in one upsert.");
            }

            NormalizeInto(vectors[i].Span, unit.AsSpan(i * dims, dims), $"vector of '{item.Path}'");
        }

        var ids = new long[items.Count];
        if (items.Count == 0)
        {
            return ids;
        }

        lock (_writeGate)
        {
            SqliteConnection writer = EnsureWriter();
            long generation;
            using (SqliteTransaction tx = writer.BeginTransaction())
            {
                using (var command = new CollectionDb.UpsertCommand(writer, tx))
                {
                    for (int i = 0; i < items.Count; i++)
                    {
                        ids[i] = command.Execute(items[i], unit.AsSpan(i * dims, dims));
                    }
                }

                generation = CollectionDb.BumpGeneration(writer, tx);
                tx.Commit();
            }

            ApplyToMemory(generation, m =>
            {
                for (int i = 0; i < items.Count; i++)
                {
                    ReadOnlySpan<float> v = unit.AsSpan(i * dims, dims);
                    bool replaced = m.Upsert(Stored(items[i], ids[i]), v);
                    if (_hnsw is not null)
                    {
                        if (replaced)
                        {
                            _hnsw.Remove(ids[i]);
                        }

                        _hnsw.Add(ids[i], v);
                    }
                }
            });
        }

        return ids;
    }

    /// <summary>Deletes an item; false when no item has that id.</summary>
    public bool Delete(long id) => DeleteWhere("id = $x", [id]) > 0;

    /// <summary>Deletes the items with these paths (missing paths are ignored) in one transaction; returns how many were deleted.</summary>
    public int DeleteByPaths(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return DeleteWhere("path = $x", paths.Distinct(StringComparer.Ordinal).Cast<object>().ToList());
    }

    public CollectionItem? Get(long id)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_readerGate)
        {
            return CollectionDb.GetItem(_reader, "i.id = $id", "$id", id);
        }
    }

    public CollectionItem? FindByPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_readerGate)
        {
            return CollectionDb.GetItem(_reader, "i.path = $p", "$p", path);
        }
    }

    /// <summary>
    /// Streams items (without vectors) in ordinal path order, optionally only under <paramref name="pathPrefix"/>:
    /// what an incremental indexer compares against the file system (path, size, mtime, hash).
    /// Reads one consistent database snapshot; dispose the enumerator (foreach does) to release it.
    /// </summary>
    public IEnumerable<CollectionItem> Items(string? pathPrefix = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Enumerate();

        IEnumerable<CollectionItem> Enumerate()
        {
            using SqliteConnection connection = CollectionDb.Open(DbPath, create: false);
            foreach (CollectionItem item in CollectionDb.EnumerateItems(connection, pathPrefix))
            {
                yield return item;
            }
        }
    }

    /// <summary>The stored (unit-norm) vector of an item, or null when no item has that id.</summary>
    public float[]? GetVector(long id)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_readerGate)
        {
            return CollectionDb.GetVector(_reader, id, Space.Dimensions);
        }
    }

    /// <summary>Top <paramref name="top"/> items by cosine similarity to <paramref name="query"/>, best first, filtered during the search.</summary>
    /// <param name="query">The query vector (any length; it is normalised).</param>
    /// <param name="top">How many hits, 1 to <see cref="MaxTop"/>.</param>
    /// <param name="filter">Only items that pass it are returned.</param>
    /// <param name="mode">Exact scan, HNSW graph, or the graph once the collection is large and optimised.</param>
    /// <param name="expansion">HNSW search expansion (ef) for this call; <see cref="SearchExpansion"/> when null.</param>
    public IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> query, int top = 10, SearchFilter? filter = null, SearchMode mode = SearchMode.Auto, int? expansion = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidateTop(top);
        int ef = expansion is { } e ? ValidateExpansion(e, nameof(expansion)) : _searchExpansion;
        float[] q = new float[Space.Dimensions];
        NormalizeInto(query, q, "query vector");
        return SearchMany([q], top, filter, mode, ef)[0];
    }

    /// <summary>Several queries at once; exact mode scores each block of vectors against all queries while it is in cache.</summary>
    public IReadOnlyList<IReadOnlyList<SearchHit>> SearchBatch(IReadOnlyList<ReadOnlyMemory<float>> queries, int top = 10, SearchFilter? filter = null,
        SearchMode mode = SearchMode.Auto, int? expansion = null)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidateTop(top);
        int ef = expansion is { } e ? ValidateExpansion(e, nameof(expansion)) : _searchExpansion;
        var unit = new float[queries.Count][];
        for (int i = 0; i < queries.Count; i++)
        {
            unit[i] = new float[Space.Dimensions];
            NormalizeInto(queries[i].Span, unit[i], $"query vector {i}");
        }

        return unit.Length == 0 ? [] : SearchMany(unit, top, filter, mode, ef);
    }

    /// <summary>
    /// Groups of near-identical items (cosine ≥ <paramref name="threshold"/>, linked transitively), each ordered
    /// best quality first: most pixels, then largest file. Member scores are similarities to that first member.
    /// Groups come largest first.
    /// </summary>
    public IReadOnlyList<DuplicateGroup> FindDuplicates(float threshold = 0.95f, SearchFilter? filter = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!(threshold > 0f && threshold <= 1f))
        {
            throw new InvalidInputException($"Duplicate threshold must be in (0, 1]; got {threshold.ToString(CultureInfo.InvariantCulture)}.");
        }

        bool large = false;
        while (true)
        {
            EnsureMatrix();
            if (large)
            {
                EnsureHnsw(build: true);
            }

            _stateLock.EnterReadLock();
            try
            {
                VectorMatrix? m = _matrix;
                if (m is null)
                {
                    continue;
                }

                RowSet? allowed = filter is null || filter.IsEmpty ? null : m.Select(filter);
                List<int> rows = allowed?.Rows ?? [.. Enumerable.Range(0, m.Count)];
                if (rows.Count > ExactDuplicatePairsLimit && _hnsw is null)
                {
                    large = true;
                    continue;
                }

                return Duplicates.Find(m, rows, allowed, threshold, rows.Count > ExactDuplicatePairsLimit ? _hnsw : null, DuplicateNeighbours);
            }
            finally
            {
                _stateLock.ExitReadLock();
            }
        }
    }

    /// <summary>Small key/value store for the indexer's resume bookkeeping (committed immediately).</summary>
    public void SetIndexState(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_writeGate)
        {
            SqliteConnection writer = EnsureWriter();
            using SqliteCommand command = writer.CreateCommand();
            command.CommandText = "INSERT INTO index_state(key, value) VALUES($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
            command.Parameters.AddWithValue("$k", key);
            command.Parameters.AddWithValue("$v", value);
            command.ExecuteNonQuery();
        }
    }

    public string? GetIndexState(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_readerGate)
        {
            using SqliteCommand command = _reader.CreateCommand();
            command.CommandText = "SELECT value FROM index_state WHERE key = $k";
            command.Parameters.AddWithValue("$k", key);
            return command.ExecuteScalar() as string;
        }
    }

    /// <summary>
    /// Loads the vectors, builds the HNSW graph when the collection has at least <see cref="ApproximateThreshold"/>
    /// items, and writes both files, so that the next process starts fast. Call after a bulk index run.
    /// </summary>
    public void Optimize() => Optimize(forceHnsw: false);

    internal void Optimize(bool forceHnsw)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        EnsureMatrix();
        if (forceHnsw || (_matrix?.Count ?? 0) >= ApproximateThreshold)
        {
            EnsureHnsw(build: true);
        }

        lock (_writeGate)
        {
            Persist();
        }
    }

    /// <summary>Writes changed derived files, releases the native index, the database connections and the write lock.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        lock (_writeGate)
        {
            try
            {
                Persist();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or OmnivecException)
            {
                // Derived files are optional: a missing or stale one is rebuilt from SQLite on the next open.
            }

            _disposed = true;
            _hnsw?.Dispose();
            _hnsw = null;
            _matrix = null;
            _writer?.Dispose();
            _reader.Dispose();
            _writeLock?.Dispose();
            _writeLock = null;
        }

        _stateLock.Dispose();
    }

    internal static void NormalizeInto(ReadOnlySpan<float> source, Span<float> destination, string what)
    {
        if (source.Length != destination.Length)
        {
            throw new InvalidInputException($"The {what} has {source.Length} dimensions; this collection stores {destination.Length}.");
        }

        // The norm is NaN/inf iff some value is (or magnitudes overflow): one pass, no per-element branch.
        float norm = TensorPrimitives.Norm(source);
        if (!float.IsFinite(norm))
        {
            throw new InvalidInputException(AllFinite(source)
                ? $"The {what} is too large to normalise."
                : $"The {what} contains NaN or infinite values.");
        }

        if (norm == 0f)
        {
            throw new InvalidInputException($"The {what} is all zeros; it has no direction to compare.");
        }

        TensorPrimitives.Divide(source, norm, destination);
    }

    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
        {
            if (!float.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The item as a read from the database would return it: UTC mtime, own copy of Extra.</summary>
    private static CollectionItem Stored(CollectionItem item, long id) => item with
    {
        Id = id,
        ModifiedUtc = item.ModifiedUtc.ToUniversalTime(),
        Extra = item.Extra is { Count: > 0 } extra ? new Dictionary<string, string>(extra, StringComparer.Ordinal) : null,
    };

    private static int ValidateExpansion(int value, string name) => value is >= 1 and <= HnswIndex.MaxExpansion
        ? value
        : throw new InvalidInputException($"{name} (HNSW ef) must be between 1 and {HnswIndex.MaxExpansion}; got {value}.");

    private static void ValidateTop(int top)
    {
        if (top is < 1 or > MaxTop)
        {
            throw new InvalidInputException($"top must be between 1 and {MaxTop}; got {top}.");
        }
    }

    private IReadOnlyList<SearchHit>[] SearchMany(float[][] queries, int top, SearchFilter? filter, SearchMode mode, int expansion)
    {
        while (true)
        {
            EnsureMatrix();
            bool approximate = mode switch
            {
                SearchMode.Exact => false,
                SearchMode.Approximate => (_matrix?.Count ?? 0) > 0,
                _ => (_matrix?.Count ?? 0) >= ApproximateThreshold && EnsureHnsw(build: false),
            };
            if (approximate)
            {
                EnsureHnsw(build: true);
            }

            _stateLock.EnterReadLock();
            try
            {
                VectorMatrix? m = _matrix;
                if (m is null || (approximate && _hnsw is null))
                {
                    continue; // dropped by a concurrent reload; load again
                }

                RowSet? allowed = filter is null || filter.IsEmpty ? null : m.Select(filter);
                var results = new IReadOnlyList<SearchHit>[queries.Length];
                if (!approximate || UseExactForFilter(m, allowed, top))
                {
                    (int Row, float Score)[][] raw = queries.Length == 1
                        ? [ExactSearch.Search(m, queries[0], top, allowed)]
                        : ExactSearch.SearchBatch(m, queries, top, allowed);
                    for (int i = 0; i < raw.Length; i++)
                    {
                        results[i] = ToHits(m, raw[i]);
                    }

                    return results;
                }

                HnswIndex hnsw = _hnsw!;
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
                Parallel.For(0, queries.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
                {
                    results[i] = ApproximateSearch(m, hnsw, queries[i], top, allowed, ids, expected, expansion);
                });
                return results;
            }
            finally
            {
                _stateLock.ExitReadLock();
            }
        }
    }

    /// <summary>
    /// Selective filters go exact over the allowed rows: cheap, and a graph walk restricted to a small subset
    /// loses recall. Broad filters are applied inside the HNSW traversal (USearch's filtered search).
    /// </summary>
    private bool UseExactForFilter(VectorMatrix m, RowSet? allowed, int top) =>
        allowed is not null && (allowed.Count < m.Count * SelectiveFilterFraction || allowed.Count < Math.Max(SelectiveFilterRows, top * 4));

    private static IReadOnlyList<SearchHit> ApproximateSearch(VectorMatrix m, HnswIndex hnsw, float[] query, int top, RowSet? allowed, IdBitmap? ids, int expected,
        int expansion)
    {
        var keys = new ulong[top];
        var scores = new float[top];
        int found = hnsw.Search(query, top, keys, scores, ids, expansion);
        var hits = new List<SearchHit>(found);
        for (int i = 0; i < found; i++)
        {
            if (m.TryGetRow((long)keys[i], out int row))
            {
                hits.Add(new SearchHit(m.Items[row], scores[i]));
            }
        }

        // A graph walk that could not reach enough allowed nodes falls back to the exact answer.
        return hits.Count >= expected ? hits : ToHits(m, ExactSearch.Search(m, query, top, allowed));
    }

    private static SearchHit[] ToHits(VectorMatrix m, (int Row, float Score)[] raw)
    {
        var hits = new SearchHit[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            hits[i] = new SearchHit(m.Items[raw[i].Row], raw[i].Score);
        }

        return hits;
    }

    private int DeleteWhere(string where, List<object> keys)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (keys.Count == 0)
        {
            return 0;
        }

        lock (_writeGate)
        {
            SqliteConnection writer = EnsureWriter();
            var deletedIds = new List<long>();
            long generation;
            using (SqliteTransaction tx = writer.BeginTransaction())
            {
                using SqliteCommand command = writer.CreateCommand();
                command.Transaction = tx;
                command.CommandText = $"DELETE FROM items WHERE {where} RETURNING id";
                SqliteParameter p = command.Parameters.Add(new SqliteParameter { ParameterName = "$x" });
                foreach (object key in keys)
                {
                    p.Value = key;
                    if (command.ExecuteScalar() is long id)
                    {
                        deletedIds.Add(id);
                    }
                }

                if (deletedIds.Count == 0)
                {
                    return 0;
                }

                generation = CollectionDb.BumpGeneration(writer, tx);
                tx.Commit();
            }

            ApplyToMemory(generation, m =>
            {
                foreach (long id in deletedIds)
                {
                    if (m.Remove(id))
                    {
                        _hnsw?.Remove(id);
                    }
                }
            });
            return deletedIds.Count;
        }
    }

    /// <summary>Mirrors a committed change in the loaded matrix/graph; on any failure drops them so the next search reloads.</summary>
    private void ApplyToMemory(long generation, Action<VectorMatrix> apply)
    {
        _stateLock.EnterWriteLock();
        try
        {
            VectorMatrix? m = _matrix;
            if (m is null)
            {
                return;
            }

            if (m.Generation != generation - 1)
            {
                // Someone else wrote in between (cannot happen while we hold the write lock, but never guess).
                DropState();
                return;
            }

            try
            {
                apply(m);
                m.Generation = generation;
            }
            catch (Exception e) when (e is OmnivecException or OutOfMemoryException)
            {
                // The change is committed; only the derived copy failed (e.g. the native graph could not grow).
                // Drop it so the next search rebuilds from SQLite instead of reporting a failed write.
                DropState();
            }
        }
        finally
        {
            _stateLock.ExitWriteLock();
        }
    }

    private void DropState()
    {
        _matrix = null;
        _hnsw?.Dispose();
        _hnsw = null;
    }

    /// <summary>Takes this collection's inter-process write lock and opens the writer connection, once.</summary>
    private SqliteConnection EnsureWriter()
    {
        if (_writer is not null)
        {
            return _writer;
        }

        _writeLock ??= CollectionStore.AcquireWriteLock(_directory, Name);
        _writer = CollectionDb.Open(DbPath, create: false);
        // Stale *.tmp files are leftovers of a writer killed mid-snapshot; only the lock holder removes them.
        foreach (string temp in Directory.EnumerateFiles(_directory, "*.tmp"))
        {
            SnapshotFile.TryDelete(temp);
        }

        return _writer;
    }

    private long ReadGeneration()
    {
        lock (_readerGate)
        {
            return CollectionDb.ReadGeneration(_reader);
        }
    }

    /// <summary>Makes <see cref="_matrix"/> reflect the database's current generation.</summary>
    private void EnsureMatrix()
    {
        long generation = ReadGeneration();
        if (_matrix is { } current && current.Generation == generation)
        {
            return;
        }

        lock (_writeGate)
        {
            if (_matrix is { } again && again.Generation == ReadGeneration())
            {
                return;
            }

            (VectorMatrix loaded, LoadSource source) = LoadMatrix();
            _stateLock.EnterWriteLock();
            try
            {
                DropState();
                _matrix = loaded;
                MatrixSource = source;
                HnswSource = LoadSource.None;
                _hnswFileCheckedGeneration = -1;
                if (source == LoadSource.Snapshot)
                {
                    _persistedMatrixGeneration = loaded.Generation;
                }
            }
            finally
            {
                _stateLock.ExitWriteLock();
            }

            if (source == LoadSource.Rebuilt && loaded.Count > 0)
            {
                // Rebuilding cost a full read of the database; keep the result for the next cold start.
                TryPersistMatrix(loaded);
            }
        }
    }

    private (VectorMatrix Matrix, LoadSource Source) LoadMatrix()
    {
        using SqliteConnection connection = CollectionDb.Open(DbPath, create: false);
        using SqliteTransaction tx = connection.BeginTransaction(deferred: true);
        long generation = CollectionDb.ReadGeneration(connection, tx);
        int dims = Space.Dimensions;

        VectorMatrix? fromSnapshot = TryLoadSnapshot(connection, tx, generation);
        if (fromSnapshot is not null)
        {
            return (fromSnapshot, LoadSource.Snapshot);
        }

        long count = CollectionDb.Count(connection);
        var matrix = new VectorMatrix(dims, (int)Math.Min(count + 16, int.MaxValue / 2)) { Generation = generation };
        CollectionDb.ReadAll(connection, tx, withVectors: true, dims, (item, vector) => matrix.Upsert(item, vector));
        return (matrix, LoadSource.Rebuilt);
    }

    private VectorMatrix? TryLoadSnapshot(SqliteConnection connection, SqliteTransaction tx, long generation)
    {
        int dims = Space.Dimensions;
        try
        {
            using var stream = new FileStream(SnapshotPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            if (SnapshotFile.ReadHeader(stream, SnapshotFile.MatrixMagic) is not { } header
                || !SnapshotFile.Matches(header, dims, generation, _instanceId)
                || header.PayloadLength != header.Count * (sizeof(long) + ((long)dims * sizeof(float))))
            {
                return null;
            }

            int count = checked((int)header.Count);
            var ids = new long[count];
            uint crc = SnapshotFile.ReadInto(stream, MemoryMarshal.AsBytes(ids.AsSpan()), 0);
            var matrix = new VectorMatrix(dims, count + 16) { Generation = generation };
            float[] data = matrix.Data;
            SnapshotFile.ReadFloats(stream, data.AsSpan(0, count * dims), ref crc);
            if (crc != header.Checksum)
            {
                return null;
            }

            // Metadata comes from SQLite in the same read transaction; every snapshot row must match an item 1:1.
            var rowOf = new Dictionary<long, int>(count);
            for (int row = 0; row < count; row++)
            {
                rowOf[ids[row]] = row;
            }

            var items = new CollectionItem?[count];
            int matched = 0;
            bool extra = false;
            CollectionDb.ReadAll(connection, tx, withVectors: false, dims, (item, _) =>
            {
                if (rowOf.TryGetValue(item.Id, out int row) && items[row] is null)
                {
                    items[row] = item;
                    matched++;
                }
                else
                {
                    extra = true;
                }
            });
            if (extra || matched != count)
            {
                return null;
            }

            // Re-add in snapshot order; the vectors are already in place, Upsert copies each onto itself.
            for (int row = 0; row < count; row++)
            {
                matrix.Upsert(items[row]!, data.AsSpan(row * dims, dims));
            }

            return matrix;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OverflowException)
        {
            return null;
        }
    }

    private void TryPersistMatrix(VectorMatrix m)
    {
        try
        {
            int n = m.Count;
            List<ReadOnlyMemory<byte>> parts = [MemoryMarshal.AsBytes(m.Ids.AsSpan(0, n)).ToArray(), .. ByteChunks.Of(m.Data, n * m.Dimensions)];
            SnapshotFile.Write(SnapshotPath, SnapshotFile.MatrixMagic, m.Dimensions, n, m.Generation, _instanceId, parts);
            _persistedMatrixGeneration = m.Generation;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Optional file; the next open rebuilds from SQLite.
        }
    }

    /// <summary>
    /// Makes <see cref="_hnsw"/> current for the loaded matrix: from hnsw.index when its header matches,
    /// else (only when <paramref name="build"/>) by building it. Returns whether a current graph is available.
    /// </summary>
    private bool EnsureHnsw(bool build)
    {
        if (_hnsw is not null)
        {
            return true;
        }

        lock (_writeGate)
        {
            VectorMatrix? m = _matrix;
            if (m is null)
            {
                return false;
            }

            if (_hnsw is not null)
            {
                return true;
            }

            if (!build && _hnswFileCheckedGeneration == m.Generation)
            {
                return false; // already looked: no usable file for this generation
            }

            HnswIndex? index = TryLoadHnsw(m);
            LoadSource source = LoadSource.Snapshot;
            if (index is null)
            {
                _hnswFileCheckedGeneration = m.Generation;
                if (!build)
                {
                    return false;
                }

                index = HnswIndex.Create(m.Dimensions, _buildExpansion);
                try
                {
                    index.AddBatch(m.Data, m.Ids, m.Count);
                }
                catch
                {
                    index.Dispose();
                    throw;
                }

                source = LoadSource.Rebuilt;
            }

            _stateLock.EnterWriteLock();
            try
            {
                _hnsw = index;
                HnswSource = source;
            }
            finally
            {
                _stateLock.ExitWriteLock();
            }

            if (source == LoadSource.Rebuilt)
            {
                TryPersistHnsw(m);
            }
            else
            {
                _persistedHnswGeneration = m.Generation;
            }

            return true;
        }
    }

    private HnswIndex? TryLoadHnsw(VectorMatrix m)
    {
        try
        {
            using var stream = new FileStream(HnswPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            if (SnapshotFile.ReadHeader(stream, SnapshotFile.HnswMagic) is not { } header
                || !SnapshotFile.Matches(header, m.Dimensions, m.Generation, _instanceId)
                || header.Count != m.Count)
            {
                return null;
            }

            using var payload = new NativeBuffer(header.PayloadLength);
            if (payload.ReadFrom(stream, 0) != header.Checksum)
            {
                return null;
            }

            HnswIndex index = HnswIndex.Deserialize(payload, m.Dimensions);
            if (index.Size != m.Count)
            {
                index.Dispose();
                return null;
            }

            return index;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OverflowException or InvalidDataException or OmnivecException)
        {
            return null;
        }
    }

    private void TryPersistHnsw(VectorMatrix m)
    {
        try
        {
            using NativeBuffer payload = _hnsw!.Serialize();
            SnapshotFile.Write(HnswPath, SnapshotFile.HnswMagic, m.Dimensions, m.Count, m.Generation, _instanceId, ByteChunks.Of(payload));
            _persistedHnswGeneration = m.Generation;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OmnivecException)
        {
            // Optional file; rebuilt when next needed.
        }
    }

    /// <summary>Writes the snapshot and graph files if they lag the loaded state. Caller holds the write gate.</summary>
    private void Persist()
    {
        VectorMatrix? m = _matrix;
        if (m is null || m.Count == 0)
        {
            return;
        }

        _stateLock.EnterReadLock();
        try
        {
            if (_persistedMatrixGeneration != m.Generation)
            {
                TryPersistMatrix(m);
            }

            if (_hnsw is not null && _persistedHnswGeneration != m.Generation)
            {
                TryPersistHnsw(m);
            }
        }
        finally
        {
            _stateLock.ExitReadLock();
        }
    }
}

/// <summary>Where a derived structure came from on its last load.</summary>
internal enum LoadSource
{
    None,
    Snapshot,
    Rebuilt,
}
