using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace Omnivec.Index.Search;

/// <summary>
/// The in-memory copy of a collection: unit vectors in one contiguous row-major block (<see cref="RowStorage"/>:
/// native memory, or the snapshot file mapped read-only and searched in place), plus each row's id and item.
/// Rows are unordered (a delete moves the last row into the hole). Mutated only under the owner's write lock; a
/// mapped matrix is copied into native memory by its first change. A matrix loaded from the snapshot file or
/// rebuilt from the database starts without its items (the file holds ids and vectors only): they are read from
/// the database when a search first needs them (<see cref="EnsureItems"/>), so neither a cold start nor a resident
/// collection keeps a record per vector it has not returned.
/// </summary>
internal sealed unsafe class VectorMatrix : IDisposable
{
    /// <summary>Rows added past the capacity grow it by this fraction (realloc; <see cref="TrimExcess"/> gives it back).</summary>
    private const int GrowthDivisor = 4;

    private RowStorage _rows;
    private long[] _ids;
    private CollectionItem?[] _items;
    private readonly IdRowMap _rowOf;
    private readonly Func<VectorMatrix, IReadOnlyList<long>?, bool>? _readItems;
    private volatile bool _itemsComplete = true;

    public VectorMatrix(int dimensions, int capacity)
    {
        Dimensions = dimensions;
        capacity = Math.Max(capacity, 16);
        CheckCapacity(dimensions, capacity);
        _rows = new NativeRowStorage(dimensions, capacity);
        _ids = new long[capacity];
        _items = new CollectionItem[capacity];
        _rowOf = new IdRowMap(capacity);
    }

    /// <summary>
    /// A matrix over <paramref name="rows"/> (their ids in <paramref name="ids"/>; the vectors are, or are then
    /// written, in the storage) whose items are read on demand by <paramref name="readItems"/>: given the matrix and
    /// the ids to read (null: all), it places them with <see cref="SetItem"/> and returns false when the database no
    /// longer matches this matrix (another generation, or rows that disagree: <see cref="Broken"/>). Takes ownership
    /// of <paramref name="ids"/> and <paramref name="rows"/>.
    /// </summary>
    public VectorMatrix(int dimensions, RowStorage rows, long[] ids, int count, Func<VectorMatrix, IReadOnlyList<long>?, bool> readItems)
    {
        Dimensions = dimensions;
        _rows = rows;
        _ids = ids;
        _items = new CollectionItem?[ids.Length];
        _rowOf = new IdRowMap(count);
        for (int row = 0; row < count; row++)
        {
            long id = ids[row];
            if (!_rowOf.TryAdd(id, row))
            {
                throw new InvalidDataException($"id {id} is in the snapshot twice");
            }

            MaxId = Math.Max(MaxId, id);
        }

        Count = count;
        _readItems = readItems;
        _itemsComplete = count == 0;
    }

    public int Dimensions { get; }

    /// <summary>Set when the database turned out not to match this matrix: it must be reloaded (from the database).</summary>
    public bool Broken { get; set; }

    public int Count { get; private set; }

    /// <summary>The database generation this content reflects.</summary>
    public long Generation { get; set; }

    public long MaxId { get; private set; }

    /// <summary>Rows there is room for without growing.</summary>
    public int Capacity => _ids.Length;

    /// <summary>Whether the rows are the snapshot file, mapped (until the first change copies them).</summary>
    public bool IsMapped => !_rows.Writable;

    /// <summary>First float of row 0; valid under the owner's read lock until the matrix changes or is disposed.</summary>
    public float* Data => _rows.Pointer;

    /// <summary>The first <paramref name="rows"/> rows as one span (they fit: the capacity is bounded by <see cref="Array.MaxLength"/> floats).</summary>
    public ReadOnlySpan<float> Span(int rows) => new(_rows.Pointer, rows * Dimensions);

    public long[] Ids => _ids;

    /// <summary>The items by row; a row of a lazily loaded matrix is null until <see cref="EnsureItems"/> read it.</summary>
    public CollectionItem?[] Items => _items;

    /// <summary>Approximate bytes this matrix holds in process memory: rows (unless mapped), ids, id map, item slots and items read.</summary>
    public long OwnBytes
    {
        get
        {
            long bytes = _rows.OwnBytes + ((long)_ids.Length * sizeof(long)) + ((long)_items.Length * IntPtr.Size) + _rowOf.Bytes;
            return bytes;
        }
    }

    /// <summary>The item of a row whose item was ensured.</summary>
    public CollectionItem Item(int row) => _items[row] ?? throw new InvalidOperationException($"the item of row {row} was not read");

    /// <summary>
    /// Makes the items of <paramref name="rows"/> available (reading the missing ones in one call); false when the
    /// database no longer matches this matrix: drop it and load again. Safe under the read lock: concurrent callers
    /// write the same records.
    /// </summary>
    public bool EnsureItems(IEnumerable<int> rows)
    {
        if (_itemsComplete)
        {
            return true;
        }

        List<long>? missing = null;
        foreach (int row in rows)
        {
            if (Volatile.Read(ref _items[row]) is null)
            {
                (missing ??= []).Add(_ids[row]);
            }
        }

        return missing is null || _readItems!(this, missing);
    }

    /// <summary>Makes every row's item available (what a filter or a duplicate scan looks at); false as for <see cref="EnsureItems"/>.</summary>
    public bool EnsureAllItems()
    {
        if (_itemsComplete)
        {
            return true;
        }

        if (!_readItems!(this, null))
        {
            return false;
        }

        _itemsComplete = true;
        return true;
    }

    /// <summary>Places an item read for this matrix; false when no row has its id.</summary>
    public bool SetItem(CollectionItem item)
    {
        if (!_rowOf.TryGetValue(item.Id, out int row))
        {
            return false;
        }

        Volatile.Write(ref _items[row], item);
        return true;
    }

    /// <summary>Whether every one of <paramref name="ids"/> (all rows when null) has its item now.</summary>
    public bool HasItems(IReadOnlyList<long>? ids)
    {
        if (ids is null)
        {
            for (int row = 0; row < Count; row++)
            {
                if (Volatile.Read(ref _items[row]) is null)
                {
                    return false;
                }
            }

            return true;
        }

        foreach (long id in ids)
        {
            if (!_rowOf.TryGetValue(id, out int row) || Volatile.Read(ref _items[row]) is null)
            {
                return false;
            }
        }

        return true;
    }

    public ReadOnlySpan<float> Row(int row) => new(_rows.Pointer + ((long)row * Dimensions), Dimensions);

    public bool TryGetRow(long id, out int row) => _rowOf.TryGetValue(id, out row);

    /// <summary>
    /// Inserts or replaces the row of <paramref name="item"/>.Id; returns true when it replaced an existing row.
    /// <paramref name="keepItem"/> false leaves the record to be read from the database when a search returns it.
    /// </summary>
    public bool Upsert(CollectionItem item, ReadOnlySpan<float> unitVector, bool keepItem = true) => Upsert(item.Id, unitVector, keepItem ? item : null);

    /// <summary>Inserts or replaces the row of <paramref name="id"/>; its record (when null) is read from the database when a search returns it.</summary>
    public bool Upsert(long id, ReadOnlySpan<float> unitVector, CollectionItem? item)
    {
        EnsureWritable();
        if (_rowOf.TryGetValue(id, out int row))
        {
            unitVector.CopyTo(RowForWrite(row));
            Volatile.Write(ref _items[row], item);
            _itemsComplete &= item is not null;
            return true;
        }

        if (Count == _ids.Length)
        {
            Grow();
        }

        row = Count++;
        unitVector.CopyTo(RowForWrite(row));
        _ids[row] = id;
        _items[row] = item;
        _itemsComplete &= item is not null;
        _rowOf.Set(id, row);
        MaxId = Math.Max(MaxId, id);
        return false;
    }

    public bool Remove(long id)
    {
        if (!_rowOf.Remove(id, out int row))
        {
            return false;
        }

        EnsureWritable();
        int last = --Count;
        if (row != last)
        {
            Row(last).CopyTo(RowForWrite(row));
            _ids[row] = _ids[last];
            _items[row] = _items[last];
            _rowOf.Set(_ids[row], row);
        }

        _items[last] = null;
        return true;
    }

    /// <summary>
    /// Gives back the room past <see cref="Count"/> (the growth slack of an upsert run) and the id map's; a mapped
    /// matrix has none. Call under the write lock when a burst of changes is over (Optimize, load).
    /// </summary>
    public void TrimExcess()
    {
        _rowOf.TrimExcess();
        if (_rows is not NativeRowStorage native || _ids.Length == Math.Max(Count, 16))
        {
            return;
        }

        int capacity = Math.Max(Count, 16);
        native.Resize(capacity);
        Array.Resize(ref _ids, capacity);
        Array.Resize(ref _items, capacity);
    }

    /// <summary>Bitmap over rows of the items passing <paramref name="filter"/> (after <see cref="EnsureAllItems"/>).</summary>
    public RowSet Select(SearchFilter filter)
    {
        var set = new RowSet(Count);
        for (int row = 0; row < Count; row++)
        {
            if (filter.Matches(Item(row)))
            {
                set.Add(row);
            }
        }

        return set;
    }

    /// <summary>
    /// Reads the rows from <paramref name="rows"/> from now on and frees the native ones: a read-only mapping of a
    /// file that holds exactly these rows (the snapshot just written). Call under the write lock.
    /// </summary>
    public void UseRows(MappedRowStorage rows)
    {
        if (rows.CapacityRows < Count)
        {
            throw new ArgumentException($"The mapping has {rows.CapacityRows} rows; the matrix {Count}.", nameof(rows));
        }

        RowStorage old = _rows;
        _rows = rows;
        old.Dispose();
    }

    /// <summary>For mapped rows: stops counting their pages in the process's resident memory (see <see cref="MappedRowStorage.ReleaseResidentPages"/>).</summary>
    public void ReleaseResidentRows() => (_rows as MappedRowStorage)?.ReleaseResidentPages();

    /// <summary>The mapped rows when they can also be read with pread (<see cref="MappedRowStorage.ReadRow(long, float*)"/>); else null.</summary>
    public MappedRowStorage? File => _rows is MappedRowStorage { CanRead: true } m ? m : null;

    /// <summary>Frees the rows (native memory or the file mapping). Call only when no search can still read them.</summary>
    public void Dispose() => _rows.Dispose();

    private Span<float> RowForWrite(int row) => new(_rows.Pointer + ((long)row * Dimensions), Dimensions);

    /// <summary>A mapped matrix copies its rows into native memory before its first change (with room for a few more).</summary>
    private void EnsureWritable()
    {
        if (_rows.Writable)
        {
            return;
        }

        int capacity = Math.Max(_ids.Length, Count + Math.Max(16, Count / GrowthDivisor));
        CheckCapacity(Dimensions, capacity);
        var native = new NativeRowStorage(Dimensions, capacity);
        Buffer.MemoryCopy(_rows.Pointer, native.Pointer, (long)capacity * Dimensions * sizeof(float), (long)Count * Dimensions * sizeof(float));
        RowStorage mapped = _rows;
        _rows = native;
        mapped.Dispose();
        if (_ids.Length < capacity)
        {
            Array.Resize(ref _ids, capacity);
            Array.Resize(ref _items, capacity);
        }
    }

    private void Grow()
    {
        long wanted = (long)_ids.Length + Math.Max(16, _ids.Length / GrowthDivisor);
        long limit = Array.MaxLength / Dimensions;
        int capacity = (int)Math.Min(wanted, limit);
        if (capacity <= _ids.Length)
        {
            throw new OmnivecException($"A collection of {Dimensions}-d vectors holds at most {limit} items in memory.");
        }

        ((NativeRowStorage)_rows).Resize(capacity);
        Array.Resize(ref _ids, capacity);
        Array.Resize(ref _items, capacity);
    }

    private static void CheckCapacity(int dimensions, long capacity)
    {
        if (capacity * dimensions > Array.MaxLength)
        {
            throw new OmnivecException($"A collection of {dimensions}-d vectors holds at most {Array.MaxLength / dimensions} items in memory.");
        }
    }
}

/// <summary>
/// Item id → matrix row. The store's ids are SQLite rowids, small and dense: while they are, an array indexed by id
/// (4 bytes per id) instead of a hash map (about 28 bytes per entry); sparse ids switch it to a dictionary.
/// </summary>
internal sealed class IdRowMap
{
    private const int MinDense = 1 << 12;
    private int[]? _dense = [];      // row + 1 at [id]; 0: absent
    private Dictionary<long, int>? _sparse;
    private int _count;

    public IdRowMap(int capacity) => _dense = new int[Math.Max(16, capacity + 1)];

    public int Count => _count;

    public long Bytes => _dense is { } d ? (long)d.Length * sizeof(int) : (long)_sparse!.EnsureCapacity(0) * 28;

    public bool TryGetValue(long id, out int row)
    {
        if (_dense is { } d)
        {
            row = (ulong)id < (ulong)d.Length ? d[id] - 1 : -1;
            return row >= 0;
        }

        return _sparse!.TryGetValue(id, out row);
    }

    public bool TryAdd(long id, int row)
    {
        if (TryGetValue(id, out _))
        {
            return false;
        }

        Set(id, row);
        return true;
    }

    /// <summary>Adds or moves <paramref name="id"/> to <paramref name="row"/>.</summary>
    public void Set(long id, int row)
    {
        if (_dense is { } d)
        {
            if ((ulong)id < (ulong)d.Length)
            {
                _count += d[id] == 0 ? 1 : 0;
                d[id] = row + 1;
                return;
            }

            // Grow while the ids stay dense (at most about 4 slots per id), else switch to a dictionary.
            if (id >= 0 && id < Math.Max(MinDense, 4L * (_count + 1)))
            {
                Array.Resize(ref _dense, (int)Math.Min(Array.MaxLength, Math.Max(id + 1, d.Length + (d.Length / 2))));
                _dense[id] = row + 1;
                _count++;
                return;
            }

            ToSparse();
        }

        _count += _sparse!.ContainsKey(id) ? 0 : 1;
        _sparse[id] = row;
    }

    public bool Remove(long id, out int row)
    {
        if (_dense is { } d)
        {
            if ((ulong)id < (ulong)d.Length && d[id] != 0)
            {
                row = d[id] - 1;
                d[id] = 0;
                _count--;
                return true;
            }

            row = -1;
            return false;
        }

        if (_sparse!.Remove(id, out row))
        {
            _count--;
            return true;
        }

        return false;
    }

    /// <summary>Shrinks the array to the largest id present (or the dictionary to its count).</summary>
    public void TrimExcess()
    {
        if (_dense is { } d)
        {
            int end = d.Length;
            while (end > 16 && d[end - 1] == 0)
            {
                end--;
            }

            if (end < d.Length)
            {
                Array.Resize(ref _dense, end);
            }
        }
        else
        {
            _sparse!.TrimExcess();
        }
    }

    private void ToSparse()
    {
        int[] d = _dense!;
        var sparse = new Dictionary<long, int>(Math.Max(_count, 16));
        for (int id = 0; id < d.Length; id++)
        {
            if (d[id] != 0)
            {
                sparse[id] = d[id] - 1;
            }
        }

        _sparse = sparse;
        _dense = null;
    }
}

/// <summary>Allowed rows of one query: a bitmap for in-scan checks plus the list when it is short.</summary>
internal sealed class RowSet
{
    private readonly ulong[] _bits;
    private readonly List<int> _rows = [];

    public RowSet(int rowCount) => _bits = new ulong[(rowCount + 63) >> 6];

    public int Count => _rows.Count;

    public List<int> Rows => _rows;

    public ulong[] Bits => _bits;

    public void Add(int row)
    {
        _bits[row >> 6] |= 1UL << (row & 63);
        _rows.Add(row);
    }

    public bool Contains(int row) => (_bits[row >> 6] & (1UL << (row & 63))) != 0;
}

/// <summary>Brute-force cosine search over a <see cref="VectorMatrix"/> (unit vectors, so cosine = dot).</summary>
internal static class ExactSearch
{
    private const int MinRowsPerTask = 4096;
    private const int ScanChunkRows = 64;
    private const int PartsPerWorker = 8;
    private const int BlockRows = 120; // 120 rows × 512 floats = 240 KiB: stays in L2 across a query batch; a multiple of the kernel's 3-row tile

    public static (int Row, float Score)[] Search(VectorMatrix matrix, float[] query, int k, RowSet? allowed)
    {
        int count = matrix.Count;
        if (allowed is not null && allowed.Count < count / 8)
        {
            // Selective filter: visit only the allowed rows.
            var heap = new TopK(k);
            foreach (int row in allowed.Rows)
            {
                heap.Offer(TensorPrimitives.Dot(matrix.Row(row), query), row);
            }

            return heap.ToSortedArray();
        }

        int workers = Math.Clamp(count / MinRowsPerTask, 1, Environment.ProcessorCount);
        if (workers == 1)
        {
            var heap = new TopK(k);
            ScanRange(matrix, query, allowed, 0, count, heap);
            return heap.ToSortedArray();
        }

        // More parts than threads, handed out as threads come: a worker that starts late takes fewer parts instead of
        // leaving the caller to scan a whole half alone (which doubled the latency of some queries).
        int parts = Math.Min(workers * PartsPerWorker, Math.Max(workers, count / MinRowsPerTask));
        // One heap per thread that took part, merged at the end.
        var result = new TopK(k);
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = workers }, () => new TopK(k), (part, _, heap) =>
        {
            (int start, int end) = Partition(count, parts, part);
            ScanRange(matrix, query, allowed, start, end, heap);
            return heap;
        }, heap =>
        {
            lock (result)
            {
                result.MergeFrom(heap);
            }
        });
        return result.ToSortedArray();
    }

    /// <summary>
    /// Many queries in one pass: each block of rows is scored against every query while it is hot in cache, by a
    /// tiled kernel (<see cref="DotKernel"/>), so a batch costs compute, not one pass over memory per query.
    /// </summary>
    public static (int Row, float Score)[][] SearchBatch(VectorMatrix matrix, float[][] queries, int k, RowSet? allowed)
    {
        int count = matrix.Count;
        int dims = matrix.Dimensions;
        int nq = queries.Length;
        float[] packed = ArrayPool<float>.Shared.Rent(nq * dims);
        for (int q = 0; q < nq; q++)
        {
            queries[q].AsSpan(0, dims).CopyTo(packed.AsSpan(q * dims, dims));
        }

        int blocks = (count + BlockRows - 1) / BlockRows;
        int tasks = Math.Clamp(count / MinRowsPerTask, 1, Environment.ProcessorCount);
        var perTask = new TopK[tasks][];
        try
        {
            Parallel.For(0, tasks, new ParallelOptions { MaxDegreeOfParallelism = tasks }, t =>
            {
                var heaps = new TopK[nq];
                for (int q = 0; q < nq; q++)
                {
                    heaps[q] = new TopK(k);
                }

                float[] scores = ArrayPool<float>.Shared.Rent(nq * BlockRows);
                try
                {
                    (int firstBlock, int endBlock) = Partition(blocks, tasks, t);
                    ReadOnlySpan<float> data = matrix.Span(count);
                    for (int b = firstBlock; b < endBlock; b++)
                    {
                        int start = b * BlockRows;
                        int rows = Math.Min(count, start + BlockRows) - start;
                        DotKernel.Scores(data.Slice(start * dims, rows * dims), rows, packed.AsSpan(0, nq * dims), nq, dims, scores);
                        for (int q = 0; q < nq; q++)
                        {
                            TopK heap = heaps[q];
                            ReadOnlySpan<float> row = scores.AsSpan(q * rows, rows);
                            for (int r = 0; r < row.Length; r++)
                            {
                                if (row[r] > heap.Threshold && (allowed is null || allowed.Contains(start + r)))
                                {
                                    heap.Offer(row[r], start + r);
                                }
                            }
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(scores);
                }

                perTask[t] = heaps;
            });
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
        }

        var results = new (int Row, float Score)[nq][];
        for (int q = 0; q < nq; q++)
        {
            for (int t = 1; t < tasks; t++)
            {
                perTask[0][q].MergeFrom(perTask[t][q]);
            }

            results[q] = perTask[0][q].ToSortedArray();
        }

        return results;
    }

    private static void ScanRange(VectorMatrix matrix, float[] query, RowSet? allowed, int start, int end, TopK heap)
    {
        int dims = matrix.Dimensions;
        ReadOnlySpan<float> data = matrix.Span(end);
        ReadOnlySpan<float> q = query;
        if (allowed is null)
        {
            // Score a chunk of rows with the 4-row kernel, then offer the chunk to the heap.
            Span<float> scores = stackalloc float[ScanChunkRows];
            for (int row = start; row < end; row += ScanChunkRows)
            {
                int rows = Math.Min(ScanChunkRows, end - row);
                DotKernel.ScoresOne(data.Slice(row * dims, rows * dims), rows, q, dims, scores);
                for (int r = 0; r < rows; r++)
                {
                    if (scores[r] > heap.Threshold)
                    {
                        heap.Offer(scores[r], row + r);
                    }
                }
            }

            return;
        }

        ulong[] bits = allowed.Bits;
        for (int row = start; row < end;)
        {
            ulong word = bits[row >> 6] >> (row & 63);
            if (word == 0)
            {
                row = (row | 63) + 1; // nothing allowed in the rest of this 64-row word
                continue;
            }

            row += BitOperations.TrailingZeroCount(word);
            if (row >= end)
            {
                break;
            }

            heap.Offer(TensorPrimitives.Dot(data.Slice(row * dims, dims), q), row);
            row++;
        }
    }

    private static (int Start, int End) Partition(int count, int parts, int index)
    {
        int size = count / parts;
        int remainder = count % parts;
        int start = (index * size) + Math.Min(index, remainder);
        return (start, start + size + (index < remainder ? 1 : 0));
    }
}
