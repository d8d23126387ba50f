using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

using Omnivec.Index.Storage;

namespace Omnivec.Index.Hnsw;

/// <summary>Owns one native USearch index; the only holder of its handle.</summary>
internal sealed class USearchHandle : SafeHandle
{
    public USearchHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    protected override unsafe bool ReleaseHandle()
    {
        nint error = 0;
        USearchNative.Free(handle, &error);
        return error == 0;
    }

    internal void Attach(nint value) => SetHandle(value);
}

/// <summary>
/// HNSW graph over unit vectors (inner-product metric, f32), keyed by item id. Not thread-safe for writes:
/// the owner serialises <see cref="Add"/>/<see cref="Remove"/> against searches; concurrent searches are fine.
/// </summary>
internal sealed unsafe class HnswIndex : IDisposable
{
    internal const int Connectivity = 16;
    internal const int DefaultExpansionAdd = 64;
    internal const int DefaultExpansionSearch = 64;

    /// <summary>Upper bound for a search or build expansion: far past the point of diminishing recall, and bounds the buffers.</summary>
    internal const int MaxExpansion = 4096;

    /// <summary>
    /// USearch keeps a fixed pool of search contexts and fails (rather than waits) when more threads search at once,
    /// so callers queue on this semaphore, sized to the pool.
    /// </summary>
    private const int SearchSlots = 16;

    private readonly USearchHandle _handle;
    private readonly SemaphoreSlim _searchSlots = new(SearchSlots, SearchSlots);

    private HnswIndex(USearchHandle handle, int dimensions)
    {
        _handle = handle;
        Dimensions = dimensions;
    }

    public int Dimensions { get; }

    public long Size
    {
        get
        {
            nint error = 0;
            nuint size = USearchNative.Size(Raw, &error);
            USearchNative.ThrowIfError(error, "size");
            return (long)size;
        }
    }

    private nint Raw
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle.DangerousGetHandle();
        }
    }

    /// <remarks>
    /// The index-wide search expansion is set to 1 and each search asks for max(top, ef) results instead: USearch
    /// widens its beam to the number of results wanted, so the expansion becomes per call without mutating shared
    /// state under concurrent searches.
    /// </remarks>
    public static HnswIndex Create(int dimensions, int expansionAdd = DefaultExpansionAdd)
    {
        var options = new USearchNative.InitOptions
        {
            MetricKind = USearchNative.MetricInnerProduct,
            Quantization = USearchNative.ScalarF32,
            Dimensions = (nuint)dimensions,
            Connectivity = Connectivity,
            ExpansionAdd = (nuint)expansionAdd,
            ExpansionSearch = 1,
        };
        var handle = new USearchHandle();
        try
        {
            nint error = 0;
            nint raw = USearchNative.Init(ref options, &error);
            USearchNative.ThrowIfError(error, "init");
            if (raw == 0)
            {
                throw new OmnivecException("USearch init returned no index.");
            }

            handle.Attach(raw);
            return new HnswIndex(handle, dimensions);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Adds <paramref name="count"/> rows of a contiguous matrix in parallel, after reserving capacity once.</summary>
    public void AddBatch(float[] matrix, long[] ids, int count, CancellationToken cancellationToken = default)
    {
        int threads = Math.Max(1, Environment.ProcessorCount);
        Reserve(count + Size, threads);
        int dims = Dimensions;
        nint raw = Raw;
        // Each worker takes an interleaved slice so both threads see a similar mix of graph sizes.
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken }, t =>
        {
            fixed (float* basePtr = matrix)
            {
                int added = 0;
                for (int row = t; row < count; row += threads)
                {
                    if ((++added & 1023) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    nint error = 0;
                    USearchNative.Add(raw, (ulong)ids[row], basePtr + ((long)row * dims), USearchNative.ScalarF32, &error);
                    USearchNative.ThrowIfError(error, "add");
                }
            }
        });
        GC.KeepAlive(_handle);
    }

    public void Add(long id, ReadOnlySpan<float> vector)
    {
        nint error = 0;
        nuint capacity = USearchNative.Capacity(Raw, &error);
        USearchNative.ThrowIfError(error, "capacity");
        long size = Size;
        if ((ulong)size + 1 > capacity)
        {
            // Doubling keeps single adds amortised O(1); the managed wrapper's +1 growth is quadratic.
            Reserve(Math.Max(1024, size * 2), Math.Max(1, Environment.ProcessorCount));
        }

        fixed (float* p = vector)
        {
            USearchNative.Add(Raw, (ulong)id, p, USearchNative.ScalarF32, &error);
        }

        USearchNative.ThrowIfError(error, "add");
    }

    public void Remove(long id)
    {
        nint error = 0;
        USearchNative.Remove(Raw, (ulong)id, &error);
        USearchNative.ThrowIfError(error, "remove");
    }

    /// <summary>
    /// Nearest <paramref name="count"/> keys, best first, exploring <paramref name="expansion"/> candidates (ef);
    /// scores are cosine similarities (1 - distance).
    /// </summary>
    public int Search(ReadOnlySpan<float> query, int count, Span<ulong> keys, Span<float> scores, IdBitmap? allowed = null, int expansion = DefaultExpansionSearch)
    {
        nint error = 0;
        int wanted = Math.Max(count, Math.Clamp(expansion, 1, MaxExpansion));
        ulong[]? wideKeys = null;
        float[]? wideScores = null;
        if (wanted > count)
        {
            wideKeys = ArrayPool<ulong>.Shared.Rent(wanted);
            wideScores = ArrayPool<float>.Shared.Rent(wanted);
        }

        int n;
        _searchSlots.Wait();
        try
        {
            if (wideKeys is null)
            {
                n = (int)SearchCore(query, count, keys, scores, allowed, &error);
            }
            else
            {
                n = Math.Min(count, (int)SearchCore(query, wanted, wideKeys, wideScores, allowed, &error));
                wideKeys.AsSpan(0, n).CopyTo(keys);
                wideScores.AsSpan(0, n).CopyTo(scores);
            }
        }
        finally
        {
            _searchSlots.Release();
            if (wideKeys is not null)
            {
                ArrayPool<ulong>.Shared.Return(wideKeys);
                ArrayPool<float>.Shared.Return(wideScores!);
            }
        }

        USearchNative.ThrowIfError(error, "search");
        for (int i = 0; i < n; i++)
        {
            scores[i] = 1f - scores[i];
        }

        return n;
    }

    private nuint SearchCore(ReadOnlySpan<float> query, int count, Span<ulong> keys, Span<float> scores, IdBitmap? allowed, nint* error)
    {
        fixed (float* q = query)
        fixed (ulong* k = keys)
        fixed (float* d = scores)
        {
            if (allowed is null)
            {
                return USearchNative.Search(Raw, q, USearchNative.ScalarF32, (nuint)count, k, d, error);
            }

            fixed (ulong* bits = allowed.Words)
            {
                var state = new FilterState { Bits = bits, Length = allowed.Words.Length };
                return USearchNative.FilteredSearch(Raw, q, USearchNative.ScalarF32, (nuint)count, &IsAllowed, &state, k, d, error);
            }
        }
    }

    /// <summary>The graph and its vectors in USearch's format, in native memory (over 2 GiB from about 1M × 512).</summary>
    public NativeBuffer Serialize()
    {
        nint error = 0;
        nuint length = USearchNative.SerializedLength(Raw, &error);
        USearchNative.ThrowIfError(error, "serialized_length");
        var buffer = new NativeBuffer((long)length);
        try
        {
            USearchNative.SaveBuffer(Raw, buffer.Pointer, length, &error);
            USearchNative.ThrowIfError(error, "save_buffer");
            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    public static HnswIndex Deserialize(NativeBuffer payload, int dimensions)
    {
        HnswIndex index = Create(dimensions);
        try
        {
            nint error = 0;
            USearchNative.LoadBuffer(index.Raw, payload.Pointer, (nuint)payload.Length, &error);

            USearchNative.ThrowIfError(error, "load_buffer");
            nuint dims = USearchNative.Dimensions(index.Raw, &error);
            if ((int)dims != dimensions)
            {
                throw new InvalidDataException($"HNSW file holds {dims}-d vectors, expected {dimensions}.");
            }

            // The file carries the expansion it was built with; searches pass theirs per call (see Create).
            USearchNative.ChangeExpansionSearch(index.Raw, 1, &error);
            USearchNative.ThrowIfError(error, "change_expansion_search");
            USearchNative.ChangeThreadsSearch(index.Raw, SearchSlots, &error);
            USearchNative.ThrowIfError(error, "change_threads_search");
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _handle.Dispose();
        _searchSlots.Dispose();
    }

    private void Reserve(long capacity, int threads)
    {
        nint error = 0;
        USearchNative.Reserve(Raw, (nuint)capacity, &error);
        USearchNative.ThrowIfError(error, "reserve");
        USearchNative.ChangeThreadsAdd(Raw, (nuint)threads, &error);
        USearchNative.ThrowIfError(error, "change_threads_add");
        USearchNative.ChangeThreadsSearch(Raw, SearchSlots, &error);
        USearchNative.ThrowIfError(error, "change_threads_search");
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct FilterState
    {
        public ulong* Bits;
        public long Length;
    }

    [UnmanagedCallersOnly]
    private static int IsAllowed(ulong key, void* state)
    {
        var s = (FilterState*)state;
        ulong word = key >> 6;
        return word < (ulong)s->Length && (s->Bits[word] & (1UL << (int)(key & 63))) != 0 ? 1 : 0;
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
