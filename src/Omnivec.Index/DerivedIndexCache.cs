using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Omnivec.Index.Hnsw;
using Omnivec.Index.Search;
using Omnivec.Index.Storage;

namespace Omnivec.Index;

/// <summary>
/// The derived, rebuildable copies of an embedded collection: the in-memory vector matrix (snapshotted to
/// vectors.snapshot) and the HNSW graph (hnsw.index). Both are tied to the database's generation and instance id;
/// a file that does not match, or fails its checksum, is ignored and rebuilt from SQLite. Loads and builds are
/// serialised with writes through the collection's write gate; searches read under <see cref="TryRead{T}"/>.
/// </summary>
internal sealed class DerivedIndexCache : IDisposable
{
    internal const string SnapshotFileName = "vectors.snapshot";
    internal const string HnswFileName = "hnsw.index";

    private readonly string _directory;
    private readonly string _dbPath;
    private readonly Guid _instanceId;
    private readonly int _dimensions;
    private readonly Lock _writeGate;
    private readonly Func<long> _readGeneration;
    private readonly Func<Func<SqliteConnection, bool>, bool> _withReader;
    private readonly ReaderWriterLockSlim _stateLock = new(LockRecursionPolicy.NoRecursion);
    private VectorMatrix? _matrix;
    private HnswIndex? _hnsw;
    private long _persistedMatrixGeneration = -1;
    private uint _persistedMatrixChecksum;
    private long _persistedHnswGeneration = -1;
    private long _hnswFileCheckedGeneration = -1;
    private volatile bool _distrustSnapshot;

    /// <param name="directory">The collection's folder (derived files live beside the database).</param>
    /// <param name="instanceId">The database's instance id: files of another database instance are never adopted.</param>
    /// <param name="dimensions">Vector dimensions.</param>
    /// <param name="writeGate">The collection's write gate: held while loading, building and applying committed writes.</param>
    /// <param name="readGeneration">Reads the database's current generation.</param>
    /// <param name="withReader">Runs a read on the collection's open reader connection (serialised with its other reads).</param>
    public DerivedIndexCache(string directory, Guid instanceId, int dimensions, Lock writeGate, Func<long> readGeneration, Func<Func<SqliteConnection, bool>, bool> withReader)
    {
        _withReader = withReader;
        _directory = directory;
        _dbPath = Path.Combine(directory, CollectionDb.FileName);
        _instanceId = instanceId;
        _dimensions = dimensions;
        _writeGate = writeGate;
        _readGeneration = readGeneration;
    }

    /// <summary>ef_construction for graphs built from now on.</summary>
    public int BuildExpansion { get; set; } = HnswIndex.DefaultExpansionAdd;

    /// <summary>Where the current in-memory matrix came from (for tests and diagnostics).</summary>
    public LoadSource MatrixSource { get; private set; }

    /// <summary>Where the current HNSW graph came from (for tests and diagnostics).</summary>
    public LoadSource HnswSource { get; private set; }

    /// <summary>Whether the loaded matrix's rows are the snapshot file, mapped (for tests and diagnostics).</summary>
    public bool MatrixMapped => _matrix?.IsMapped ?? false;

    /// <summary>Rows the loaded matrix has room for (0 when none is loaded; for tests and diagnostics).</summary>
    public int MatrixCapacity => _matrix?.Capacity ?? 0;

    /// <summary>Rows in the loaded matrix (0 when none is loaded).</summary>
    public int LoadedCount => _matrix?.Count ?? 0;

    public string SnapshotPath => Path.Combine(_directory, SnapshotFileName);

    public string HnswPath => Path.Combine(_directory, HnswFileName);

    /// <summary>
    /// Runs <paramref name="read"/> over the loaded matrix (and graph, when <paramref name="needHnsw"/>) under the
    /// read lock. False when a concurrent reload dropped them in between: ensure them again and retry.
    /// </summary>
    public bool TryRead<T>(bool needHnsw, Func<VectorMatrix, HnswIndex?, T> read, out T result)
    {
        _stateLock.EnterReadLock();
        try
        {
            VectorMatrix? m = _matrix;
            if (m is null || (needHnsw && _hnsw is null))
            {
                result = default!;
                return false;
            }

            result = read(m, _hnsw);
            return true;
        }
        finally
        {
            _stateLock.ExitReadLock();
        }
    }

    /// <summary>Whether a graph is loaded now (without loading or building one).</summary>
    public bool HasHnsw => _hnsw is not null;

    /// <summary>Makes the matrix reflect the database's current generation.</summary>
    public void EnsureMatrix()
    {
        long generation = _readGeneration();
        if (_matrix is { } current && current.Generation == generation && !current.Broken)
        {
            return;
        }

        lock (_writeGate)
        {
            if (_matrix is { } again && again.Generation == _readGeneration() && !again.Broken)
            {
                return;
            }

            VectorMatrix loaded;
            LoadSource source;
            using (System.Diagnostics.Activity? activity = IndexTelemetry.StartLoad("vectors"))
            {
                (loaded, source) = LoadMatrix();
                activity?.SetTag("omnivec.index.source", source == LoadSource.Snapshot ? "snapshot" : "database");
            }

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

    /// <summary>
    /// Makes the graph current for the loaded matrix: from hnsw.index when its header matches, else (only when
    /// <paramref name="build"/>) by building it. Returns whether a current graph is available.
    /// </summary>
    public bool EnsureHnsw(bool build, CancellationToken cancellationToken = default)
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

            HnswIndex? index;
            using (System.Diagnostics.Activity? activity = IndexTelemetry.StartLoad("hnsw"))
            {
                index = TryLoadHnsw(m);
                activity?.SetTag("omnivec.index.source", index is null ? "none" : "file");
            }

            LoadSource source = LoadSource.Snapshot;
            if (index is null)
            {
                _hnswFileCheckedGeneration = m.Generation;
                if (!build)
                {
                    return false;
                }

                index = HnswIndex.Build(m, BuildExpansion, cancellationToken: cancellationToken);
                source = LoadSource.Rebuilt;
            }

            // Searches walk on int8 codes and re-score with float16 rows, both in memory (see HnswCodes.cs). Mapped rows
            // were all read (checksum, codes): unmapped from the process again, they stay in the page cache for builds,
            // inserts and exact scans.
            index.UseCodes();
            m.ReleaseResidentRows();

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

            MapPersistedRows();
            return true;
        }
    }

    /// <summary>
    /// Mirrors a committed change (which moved the generation to <paramref name="generation"/>) in the loaded
    /// matrix and graph; on any failure drops them so the next search reloads. Caller holds the write gate.
    /// </summary>
    public void ApplyCommitted(long generation, Action<VectorMatrix, HnswIndex?> apply)
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
                apply(m, _hnsw);
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

    /// <summary>Gives back the matrix's growth slack (after a burst of upserts). Caller holds the write gate.</summary>
    public void TrimExcess()
    {
        _stateLock.EnterWriteLock();
        try
        {
            _matrix?.TrimExcess();
        }
        finally
        {
            _stateLock.ExitWriteLock();
        }
    }

    /// <summary>Writes the snapshot and graph files if they lag the loaded state. Caller holds the write gate.</summary>
    public void Persist()
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

    /// <summary>
    /// When the graph walks on its codes and the snapshot this process wrote holds the loaded rows, reads the rows from
    /// the snapshot, mapped, and frees the native copy: approximate searches read the codes and float16 rows instead,
    /// so the float32 vectors stay in the page cache and count in the process's memory only where an exact scan
    /// touched them. The file is trusted when its header is the one written (generation, instance, count, checksum),
    /// without reading its rows.
    /// The first change copies the rows back into native memory. Caller holds the write gate.
    /// </summary>
    public void MapPersistedRows()
    {
        VectorMatrix? m = _matrix;
        if (m is null || m.IsMapped || m.Count == 0 || _hnsw is not { HasCodes: true } || _persistedMatrixGeneration != m.Generation)
        {
            return;
        }

        MappedRowStorage? rows = null;
        try
        {
            using var stream = new FileStream(SnapshotPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            if (SnapshotFile.ReadHeader(stream, SnapshotFile.MatrixMagic) is not { } header
                || !SnapshotFile.Matches(header, m.Dimensions, m.Generation, _instanceId)
                || header.Count != m.Count
                || header.Checksum != _persistedMatrixChecksum
                || header.PayloadLength != SnapshotFile.MatrixRowsOffset(header.Count) + (header.Count * m.Dimensions * sizeof(float)))
            {
                return;
            }

            rows = new MappedRowStorage(stream, SnapshotHeader.Size + SnapshotFile.MatrixRowsOffset(m.Count), m.Count, m.Dimensions);
            _stateLock.EnterWriteLock();
            try
            {
                if (ReferenceEquals(_matrix, m) && !m.IsMapped)
                {
                    m.UseRows(rows);
                    rows = null;
                }
            }
            finally
            {
                _stateLock.ExitWriteLock();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Keep the native rows.
        }
        finally
        {
            rows?.Dispose();
        }
    }

    /// <summary>Removes temp files left by a writer killed mid-snapshot; only the write-lock holder may call it.</summary>
    public void RemoveStaleTempFiles()
    {
        foreach (string temp in Directory.EnumerateFiles(_directory, "*.tmp"))
        {
            SnapshotFile.TryDelete(temp);
        }
    }

    /// <summary>Releases the native graph and the matrix. Caller holds the write gate.</summary>
    public void Dispose()
    {
        _hnsw?.Dispose();
        _hnsw = null;
        _matrix?.Dispose();
        _matrix = null;
        _stateLock.Dispose();
    }

    /// <summary>Drops (and frees) the matrix and graph. Caller holds the state write lock, so no search still reads them.</summary>
    private void DropState()
    {
        _hnsw?.Dispose();
        _hnsw = null;
        _matrix?.Dispose();
        _matrix = null;
    }

    private (VectorMatrix Matrix, LoadSource Source) LoadMatrix()
    {
        using SqliteConnection connection = CollectionDb.Open(_dbPath, create: false);
        using SqliteTransaction tx = connection.BeginTransaction(deferred: true);
        long generation = CollectionDb.ReadGeneration(connection, tx);

        // A snapshot whose ids turned out not to match the database's items is not trusted again: rebuild (and rewrite) it.
        VectorMatrix? fromSnapshot = _distrustSnapshot ? null : TryLoadSnapshot(connection, tx, generation);
        if (fromSnapshot is not null)
        {
            return (fromSnapshot, LoadSource.Snapshot);
        }

        _distrustSnapshot = false;

        // Exactly as many rows as the database holds, and no item records: like a snapshot-loaded matrix, a search
        // reads the records of its hits (and keeps them), so memory holds the vectors, not a record per vector.
        long count = CollectionDb.Count(connection);
        var matrix = new VectorMatrix(_dimensions, new NativeRowStorage(_dimensions, Math.Max(count, 1)), new long[Math.Max(count, 1)], 0, ReadItems)
        {
            Generation = generation,
        };
        try
        {
            CollectionDb.ReadAllVectors(connection, tx, _dimensions, (id, vector) => matrix.Upsert(id, vector, null));
            matrix.TrimExcess();
        }
        catch
        {
            matrix.Dispose();
            throw;
        }

        return (matrix, LoadSource.Rebuilt);
    }

    /// <summary>
    /// The snapshot's matrix, its rows searched in place in a read-only mapping of the file (nothing is read into a
    /// buffer or copied); null when the file is missing, of another generation, damaged (CRC-32C over ids and rows,
    /// on the mapped pages: it also faults them in, on the loading thread, before the first search scans them) or
    /// its ids are not the database's.
    /// </summary>
    private unsafe VectorMatrix? TryLoadSnapshot(SqliteConnection connection, SqliteTransaction tx, long generation)
    {
        int dims = _dimensions;
        MappedRowStorage? rows = null;
        try
        {
            using var stream = new FileStream(SnapshotPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            if (SnapshotFile.ReadHeader(stream, SnapshotFile.MatrixMagic) is not { } header
                || !SnapshotFile.Matches(header, dims, generation, _instanceId)
                || header.Count * dims > Array.MaxLength
                || header.PayloadLength != SnapshotFile.MatrixRowsOffset(header.Count) + (header.Count * dims * sizeof(float)))
            {
                return null;
            }

            int count = checked((int)header.Count);
            System.Diagnostics.Activity? fileSpan = IndexTelemetry.StartLoad("vectors.file");
            rows = new MappedRowStorage(stream, SnapshotHeader.Size + SnapshotFile.MatrixRowsOffset(count), count, dims);
            byte* payload = rows.FileStart + SnapshotHeader.Size;
            uint crc = SnapshotFile.Crc32C(0, payload, header.PayloadLength);
            fileSpan?.Dispose();
            if (crc != header.Checksum)
            {
                return null;
            }

            var ids = new long[Math.Max(count, 1)];
            new ReadOnlySpan<long>(payload, count).CopyTo(ids);
            VectorMatrix matrix;
            try
            {
                matrix = new VectorMatrix(dims, rows, ids, count, ReadItems) { Generation = generation };
            }
            catch (InvalidDataException)
            {
                return null; // an id twice: not a snapshot this code wrote
            }

            // The snapshot holds ids and vectors; the items stay in SQLite and are read when a search needs them
            // (VectorMatrix.EnsureItems). Here, in the same read transaction, the ids must be the database's items:
            // same count, sum, smallest and largest (one pass over the items' path index, not a read of every record).
            using System.Diagnostics.Activity? itemsSpan = IndexTelemetry.StartLoad("vectors.ids");
            (long dbCount, long dbSum, long dbMin, long dbMax) = CollectionDb.IdSummary(connection, tx);
            long sum = 0, min = count == 0 ? 0 : long.MaxValue, max = count == 0 ? 0 : long.MinValue;
            for (int i = 0; i < count; i++)
            {
                long id = ids[i];
                sum = unchecked(sum + id);
                min = Math.Min(min, id);
                max = Math.Max(max, id);
            }

            if (dbCount == count && dbSum == sum && dbMin == min && dbMax == max)
            {
                rows = null; // the matrix owns it now
                return matrix;
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OverflowException)
        {
            return null;
        }
        finally
        {
            rows?.Dispose();
        }
    }

    /// <summary>
    /// Reads the items of <paramref name="ids"/> (all, when null) of a snapshot-loaded matrix, in one read transaction
    /// at the matrix's generation. False when the database moved on (load again), or when it lacks an item the snapshot
    /// has or has one it lacks: then the matrix is marked broken and the next load rebuilds from the database.
    /// </summary>
    private bool ReadItems(VectorMatrix matrix, IReadOnlyList<long>? ids)
    {
        using System.Diagnostics.Activity? activity = IndexTelemetry.StartLoad("items")?.SetTag("omnivec.index.items", ids?.Count ?? matrix.Count);
        // On the collection's reader connection: a search that reads its hits' records (a resident matrix keeps none
        // of its own) must not pay for opening the database each time.
        bool? read = null;
        _withReader(connection =>
        {
            using SqliteTransaction tx = connection.BeginTransaction(deferred: true);
            if (CollectionDb.ReadGeneration(connection, tx) != matrix.Generation)
            {
                read = false;
                return false;
            }

            bool extra = false;
            if (ids is null)
            {
                CollectionDb.ReadAll(connection, tx, withVectors: false, _dimensions, (item, _) => extra |= !matrix.SetItem(item));
            }
            else
            {
                CollectionDb.ReadItems(connection, tx, ids, item => extra |= !matrix.SetItem(item));
            }

            read = !extra && matrix.HasItems(ids) ? true : null;
            return true;
        });

        if (read is { } result)
        {
            return result;
        }

        _distrustSnapshot = true;
        matrix.Broken = true;
        return false;
    }

    private void TryPersistMatrix(VectorMatrix m)
    {
        try
        {
            int n = m.Count;
            List<ReadOnlyMemory<byte>> parts;
            unsafe
            {
                byte[] ids = new byte[SnapshotFile.MatrixRowsOffset(n)]; // the ids, zero-padded to the rows' alignment
                MemoryMarshal.AsBytes(m.Ids.AsSpan(0, n)).CopyTo(ids);
                parts = [ids, .. ByteChunks.Of((byte*)m.Data, (long)n * m.Dimensions * sizeof(float))];
            }

            _persistedMatrixChecksum = SnapshotFile.Write(SnapshotPath, SnapshotFile.MatrixMagic, m.Dimensions, n, m.Generation, _instanceId, parts);
            _persistedMatrixGeneration = m.Generation;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Optional file; the next open rebuilds from SQLite.
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

            return HnswIndex.Read(stream, header.PayloadLength, header.Checksum, m, BuildExpansion);
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
            SnapshotFile.Write(HnswPath, SnapshotFile.HnswMagic, m.Dimensions, m.Count, m.Generation, _instanceId, _hnsw!.SerializeParts());
            _persistedHnswGeneration = m.Generation;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OmnivecException)
        {
            // Optional file; rebuilt when next needed.
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
