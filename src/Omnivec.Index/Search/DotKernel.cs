using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Omnivec.Index.Search;

/// <summary>
/// Dot products of a block of rows against a block of queries (a small GEMM, C = Q·Rᵀ). A register tile of
/// 4 queries × 3 rows keeps 12 accumulators live, so each loaded vector feeds 3–4 FMAs: compute-bound rather than
/// load-bound, which a loop of one-pair <see cref="TensorPrimitives.Dot"/> calls cannot be.
/// </summary>
internal static class DotKernel
{
    private const int QueryTile = 4;
    private const int RowTile = 3;

    /// <summary>True when the tiled kernel applies (AVX2-class SIMD and a dimension that is a multiple of 8).</summary>
    public static bool IsTiled(int dims) => Vector256.IsHardwareAccelerated && dims % Vector256<float>.Count == 0;

    /// <summary>
    /// <c>scores[q * rowCount + r] = dot(queries[q], rows[r])</c> for <paramref name="queryCount"/> packed queries
    /// and <paramref name="rowCount"/> packed rows, both row-major with <paramref name="dims"/> columns.
    /// </summary>
    public static void Scores(ReadOnlySpan<float> rows, int rowCount, ReadOnlySpan<float> queries, int queryCount, int dims, Span<float> scores)
    {
        if ((long)rowCount * dims > rows.Length || (long)queryCount * dims > queries.Length || (long)queryCount * rowCount > scores.Length)
        {
            throw new ArgumentException("Buffers are smaller than the shapes given.");
        }

        if (!IsTiled(dims))
        {
            Pairwise(rows, 0, rowCount, queries, 0, queryCount, dims, scores, rowCount);
            return;
        }

        int tiledQueries = queryCount - (queryCount % QueryTile);
        int tiledRows = rowCount - (rowCount % RowTile);
        ref float r0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(rows);
        ref float q0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(queries);
        ref float s0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(scores);
        for (int q = 0; q < tiledQueries; q += QueryTile)
        {
            for (int r = 0; r < tiledRows; r += RowTile)
            {
                Tile(ref Unsafe.Add(ref r0, r * dims), ref Unsafe.Add(ref q0, q * dims), dims, ref Unsafe.Add(ref s0, (q * rowCount) + r), rowCount);
            }
        }

        // Edges: rows left over after the 3-row tiles for the tiled queries, then every row for the leftover queries.
        Pairwise(rows, tiledRows, rowCount, queries, 0, tiledQueries, dims, scores, rowCount);
        Pairwise(rows, 0, rowCount, queries, tiledQueries, queryCount, dims, scores, rowCount);
    }

    /// <summary>
    /// <c>scores[r] = dot(query, rows[r])</c> for one query: 4 rows at a time with two accumulators each, so a scan
    /// spends fewer instructions per row (no dependent FMA chain, one horizontal sum per row) and keeps up with memory.
    /// </summary>
    public static void ScoresOne(ReadOnlySpan<float> rows, int rowCount, ReadOnlySpan<float> query, int dims, Span<float> scores)
    {
        if ((long)rowCount * dims > rows.Length || query.Length < dims || scores.Length < rowCount)
        {
            throw new ArgumentException("Buffers are smaller than the shapes given.");
        }

        int tiled = IsTiled(dims) && dims % (2 * Vector256<float>.Count) == 0 ? rowCount & ~3 : 0;
        ref float r0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(rows);
        ref float q0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(query);
        for (int r = 0; r < tiled; r += 4)
        {
            FourRows(ref Unsafe.Add(ref r0, r * dims), ref q0, dims, scores.Slice(r, 4));
        }

        for (int r = tiled; r < rowCount; r++)
        {
            scores[r] = TensorPrimitives.Dot(rows.Slice(r * dims, dims), query[..dims]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FourRows(ref float rows, ref float query, int dims, Span<float> scores)
    {
        Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default;
        Vector256<float> a2 = default, b2 = default, a3 = default, b3 = default;
        nuint d = (nuint)dims;
        nuint w = (nuint)Vector256<float>.Count;
        for (nuint i = 0; i < d; i += 2 * w)
        {
            Vector256<float> y = Vector256.LoadUnsafe(ref query, i);
            Vector256<float> z = Vector256.LoadUnsafe(ref query, i + w);
            a0 = Vector256.FusedMultiplyAdd(y, Vector256.LoadUnsafe(ref rows, i), a0);
            b0 = Vector256.FusedMultiplyAdd(z, Vector256.LoadUnsafe(ref rows, i + w), b0);
            a1 = Vector256.FusedMultiplyAdd(y, Vector256.LoadUnsafe(ref rows, i + d), a1);
            b1 = Vector256.FusedMultiplyAdd(z, Vector256.LoadUnsafe(ref rows, i + d + w), b1);
            a2 = Vector256.FusedMultiplyAdd(y, Vector256.LoadUnsafe(ref rows, i + (2 * d)), a2);
            b2 = Vector256.FusedMultiplyAdd(z, Vector256.LoadUnsafe(ref rows, i + (2 * d) + w), b2);
            a3 = Vector256.FusedMultiplyAdd(y, Vector256.LoadUnsafe(ref rows, i + (3 * d)), a3);
            b3 = Vector256.FusedMultiplyAdd(z, Vector256.LoadUnsafe(ref rows, i + (3 * d) + w), b3);
        }

        scores[0] = Sum(a0 + b0);
        scores[1] = Sum(a1 + b1);
        scores[2] = Sum(a2 + b2);
        scores[3] = Sum(a3 + b3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(ref float rows, ref float queries, int dims, ref float scores, int scoreStride)
    {
        Vector256<float> a00 = default, a01 = default, a02 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default;
        nuint d = (nuint)dims;
        for (nuint i = 0; i < d; i += (nuint)Vector256<float>.Count)
        {
            Vector256<float> x0 = Vector256.LoadUnsafe(ref rows, i);
            Vector256<float> x1 = Vector256.LoadUnsafe(ref rows, i + d);
            Vector256<float> x2 = Vector256.LoadUnsafe(ref rows, i + (2 * d));

            Vector256<float> y = Vector256.LoadUnsafe(ref queries, i);
            a00 = Vector256.FusedMultiplyAdd(y, x0, a00);
            a01 = Vector256.FusedMultiplyAdd(y, x1, a01);
            a02 = Vector256.FusedMultiplyAdd(y, x2, a02);
            y = Vector256.LoadUnsafe(ref queries, i + d);
            a10 = Vector256.FusedMultiplyAdd(y, x0, a10);
            a11 = Vector256.FusedMultiplyAdd(y, x1, a11);
            a12 = Vector256.FusedMultiplyAdd(y, x2, a12);
            y = Vector256.LoadUnsafe(ref queries, i + (2 * d));
            a20 = Vector256.FusedMultiplyAdd(y, x0, a20);
            a21 = Vector256.FusedMultiplyAdd(y, x1, a21);
            a22 = Vector256.FusedMultiplyAdd(y, x2, a22);
            y = Vector256.LoadUnsafe(ref queries, i + (3 * d));
            a30 = Vector256.FusedMultiplyAdd(y, x0, a30);
            a31 = Vector256.FusedMultiplyAdd(y, x1, a31);
            a32 = Vector256.FusedMultiplyAdd(y, x2, a32);
        }

        Store(ref scores, a00, a01, a02);
        Store(ref Unsafe.Add(ref scores, scoreStride), a10, a11, a12);
        Store(ref Unsafe.Add(ref scores, 2 * scoreStride), a20, a21, a22);
        Store(ref Unsafe.Add(ref scores, 3 * scoreStride), a30, a31, a32);
    }

    /// <summary>
    /// The sum of the lanes in one fixed order. <see cref="Vector256.Sum{T}(Vector256{T})"/> adds them in another
    /// order when the JIT expands it (optimised code) than when it runs as a call (first-tier code), so the same dot
    /// product could differ in its last bit depending on when the method was re-compiled: graphs built and rankings
    /// among near-ties then changed from run to run.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum(Vector256<float> v)
    {
        Vector128<float> h = v.GetLower() + v.GetUpper();
        return (h.GetElement(0) + h.GetElement(1)) + (h.GetElement(2) + h.GetElement(3));
    }

    /// <summary><see cref="Sum(Vector256{float})"/> of the two halves added lane by lane (one fixed order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum(Vector512<float> v) => Sum(v.GetLower() + v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref float scores, Vector256<float> a, Vector256<float> b, Vector256<float> c)
    {
        scores = Sum(a);
        Unsafe.Add(ref scores, 1) = Sum(b);
        Unsafe.Add(ref scores, 2) = Sum(c);
    }

    private static void Pairwise(ReadOnlySpan<float> rows, int rowStart, int rowEnd, ReadOnlySpan<float> queries, int queryStart, int queryEnd,
        int dims, Span<float> scores, int scoreStride)
    {
        for (int q = queryStart; q < queryEnd; q++)
        {
            ReadOnlySpan<float> query = queries.Slice(q * dims, dims);
            for (int r = rowStart; r < rowEnd; r++)
            {
                scores[(q * scoreStride) + r] = TensorPrimitives.Dot(rows.Slice(r * dims, dims), query);
            }
        }
    }
}
