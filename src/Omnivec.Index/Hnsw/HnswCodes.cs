using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Omnivec.Index.Search;

namespace Omnivec.Index.Hnsw;

/// <summary>
/// Compact vectors for the graph walk and its re-scoring. The walk reads one int8 code per dimension and one float
/// scale per node (scale = the largest magnitude ÷ 127), 516 bytes per 512-d node instead of 2,048: a quarter of the
/// memory read per neighbour. The nodes it keeps near the <c>count</c>-th are re-scored with a float16 copy of each
/// row (1,024 bytes per 512-d node), resident beside the codes; only the few whose float16 score is too close to the
/// line between the <c>count</c> returned and the rest to tell which side they are on (see <see cref="Rescore"/>) are
/// scored again with their float32 rows, so which results a search returns is decided as with float32 rows
/// throughout, and a returned score is the float16 row's (within about 1e-5 at 512-d) or the float32 one. With codes
/// and halves in memory the matrix rows need not be: the owner maps them from the snapshot file, and a search reads
/// the odd row it needs from there (about one every few queries at 512-d) instead of 10 to 20 a query.
/// Builds and inserts link with the float32 rows, as before.
/// </summary>
internal sealed unsafe partial class HnswIndex
{
    private byte* _codes;        // node-indexed, _dims bytes per node, 64-byte aligned
    private Half* _halves;       // node-indexed, _dims halves per node: the rows re-scoring reads
    private float[] _codeScales = [];
    private long _codeCapacity;

    /// <summary>Standard deviations of the codes' error within which results are re-scored (see <see cref="Rescore"/>).</summary>
    internal const float RescoreDeviations = 4f;

    private static readonly float InverseSqrt12 = 1f / MathF.Sqrt(12f);

    /// <summary>
    /// Rounding an element h to float16 moves it by at most half a unit in its last place, and that unit is at most
    /// 2⁻¹⁰·|h|: one error's standard deviation is at most 2⁻¹⁰·|h|/√12.
    /// </summary>
    private static readonly float HalfErrorPerElement = 1f / 1024f / MathF.Sqrt(12f);

    /// <summary>
    /// Whether the float32 rows a search needs are read with pread when the matrix is mapped from its file (where it
    /// can), not through the mapping: each page fault on the mapping also maps up to 15 cached neighbouring pages
    /// (fault-around, which <c>MADV_RANDOM</c> does not stop), so reading rows through it makes the file resident in
    /// the process bit by bit. False only in tests comparing the two.
    /// </summary>
    internal bool ReadRowsFromFile { get; set; } = true;

    /// <summary>Whether searches walk on int8 codes (and re-score with the float16 rows).</summary>
    public bool HasCodes => _codes is not null;

    /// <summary>Bytes the codes and the float16 rows take (0 without codes).</summary>
    public long CodeBytes => _codes is null ? 0 : (_codeCapacity * _dims * (1 + sizeof(Half))) + ((long)_codeScales.Length * sizeof(float));

    /// <summary>
    /// Gives every node an int8 code and a float16 row from its float32 vector; searches walk on the codes and re-score
    /// with the float16 rows from then on, and nodes
    /// inserted later get theirs when they are added. Caller serialises it with searches and writes (as a write).
    /// </summary>
    public void UseCodes()
    {
        if (_codes is not null)
        {
            return;
        }

        long capacity = Math.Max(_levels.Length, 16);
        _codes = (byte*)LargePages.Alloc(checked((nuint)(capacity * _dims)));
        _halves = (Half*)LargePages.Alloc(checked((nuint)(capacity * _dims * sizeof(Half))));
        _codeScales = new float[capacity];
        _codeCapacity = capacity;
        float* d = _matrix.Data;
        var view = new View(this, d);
        for (int node = 0; node < _count; node++)
        {
            Encode(node, view.Vector(node));
        }
    }

    /// <summary>Writes the code and the float16 row of <paramref name="node"/> (room for them is there) from its float32 vector.</summary>
    private void Encode(int node, float* v)
    {
        var vector = new ReadOnlySpan<float>(v, _dims);
        float max = MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(vector));
        float scale = max > 0 ? max / 127f : 1f;
        float inverse = 1f / scale;
        sbyte* code = (sbyte*)(_codes + ((long)node * _dims));
        for (int i = 0; i < _dims; i++)
        {
            code[i] = (sbyte)Math.Clamp((int)MathF.Round(vector[i] * inverse), -127, 127);
        }

        _codeScales[node] = scale;
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(vector, new Span<Half>(_halves + ((long)node * _dims), _dims));
    }

    /// <summary>Makes room for the code of <paramref name="node"/> and writes it (after a new node got its matrix row).</summary>
    private void EncodeNew(int node)
    {
        if (_codes is null)
        {
            return;
        }

        if (node >= _codeCapacity)
        {
            long capacity = Math.Max(node + 1, _levels.Length);
            _codes = (byte*)LargePages.Realloc(_codes, checked((nuint)(capacity * _dims)));
            _halves = (Half*)LargePages.Realloc(_halves, checked((nuint)(capacity * _dims * sizeof(Half))));
            Array.Resize(ref _codeScales, checked((int)capacity));
            _codeCapacity = capacity;
        }

        int row = _rowOfNode[node];
        Encode(node, _matrix.Data + ((long)row * _dims));
    }

    private void FreeCodes()
    {
        if (_codes is not null)
        {
            LargePages.Free(_codes);
            LargePages.Free(_halves);
            _codes = null;
            _halves = null;
            _codeScales = [];
            _codeCapacity = 0;
        }
    }

    /// <summary><see cref="DotCode(float*, sbyte*, int)"/> over spans (for tests).</summary>
    internal static float DotCode(ReadOnlySpan<float> q, ReadOnlySpan<sbyte> code)
    {
        fixed (float* qp = q)
        fixed (sbyte* cp = code)
        {
            return DotCode(qp, cp, Math.Min(q.Length, code.Length));
        }
    }

    /// <summary>Σ q[i] · code[i] over <paramref name="n"/> dimensions, lanes summed in one fixed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float DotCode(float* q, sbyte* code, int n)
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported && (n & 63) == 0)
        {
            // vpmovsxbd widens 16 codes to 16 int32 lanes straight from memory; half the instructions of the AVX2 loop.
            Vector512<float> s0 = Vector512<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0; i < n; i += 64)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i), Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(code + i))), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i + 16), Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(code + i + 16))), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i + 32), Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(code + i + 32))), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i + 48), Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(code + i + 48))), s3);
            }

            return DotKernel.Sum((s0 + s1) + (s2 + s3));
        }

        if (Avx2.IsSupported && (n & 31) == 0)
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0; i < n; i += 32)
            {
                s0 = MultiplyAdd(Vector256.Load(q + i), Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(code + i)), s0);
                s1 = MultiplyAdd(Vector256.Load(q + i + 8), Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(code + i + 8)), s1);
                s2 = MultiplyAdd(Vector256.Load(q + i + 16), Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(code + i + 16)), s2);
                s3 = MultiplyAdd(Vector256.Load(q + i + 24), Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(code + i + 24)), s3);
            }

            return DotKernel.Sum((s0 + s1) + (s2 + s3));
        }

        float sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += q[i] * code[i];
        }

        return sum;
    }

    /// <summary>Σ q[i]·h[i], and Σ (q[i]·h[i])² in <paramref name="squares"/> (for the float16 rows' error).</summary>
    private static float DotAndSquares(float* q, float* h, int n, out float squares)
    {
        Vector<float> sum = Vector<float>.Zero, sum2 = Vector<float>.Zero;
        int i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector<float> p = Vector.Load(q + i) * Vector.Load(h + i);
            sum += p;
            sum2 += p * p;
        }

        float dot = Vector.Sum(sum), s2 = Vector.Sum(sum2);
        for (; i < n; i++)
        {
            float p = q[i] * h[i];
            dot += p;
            s2 += p * p;
        }

        squares = s2;
        return dot;
    }

    /// <summary>
    /// Re-scores the walk's results within the codes' error of the <paramref name="count"/>-th: one code's dot
    /// product is off by Σ q[i]·e[i] with the rounding errors e[i] uniform in ±scale/2 and independent, a standard
    /// deviation of scale·‖q‖/√12; a result whose code distance exceeds the <paramref name="count"/>-th one's by more
    /// than <paramref name="deviations"/> of those (its own plus the largest among the first <paramref name="count"/>)
    /// cannot be closer than any of them, bar an error that large. At 512-d that leaves 10 to 20 of
    /// ef 64 to 512 results to re-score for 10 hits (measured: docs/benchmarks.md). Those are scored with their
    /// float16 rows, whose error is modelled the same way: Σ q[i]·e[i] with e[i] uniform within half a unit in the
    /// last place of h[i] (at most 2⁻¹⁰·|h[i]|), a standard deviation of at most 2⁻¹⁰·√(Σ (q[i]·h[i])²)/√12. Results
    /// within <paramref name="deviations"/> of those of the line between the first <paramref name="count"/> and the
    /// rest are scored again with their float32 rows (<see cref="SearchContext.ExactRescored"/> counts them). Returns
    /// how many results <see cref="SearchContext.Sorted"/> now holds, sorted again (closest first; ties by node, so the
    /// order is reproducible).
    /// </summary>
    private int Rescore(in View view, float* q, SearchContext context, int found, int count, float deviations)
    {
        (float Distance, int Node)[] sorted = context.Sorted;
        int keep = found;
        if (found > count && count > 0 && float.IsFinite(deviations))
        {
            float sigma = deviations * InverseSqrt12 * MathF.Sqrt(Dot(q, q, _dims));
            float[] scales = _codeScales;
            float largest = 0;
            for (int i = 0; i < count; i++)
            {
                largest = Math.Max(largest, scales[sorted[i].Node]);
            }

            float bound = sorted[count - 1].Distance;
            keep = count;
            for (int i = count; i < found; i++)
            {
                if (sorted[i].Distance - bound <= sigma * (largest + scales[sorted[i].Node]))
                {
                    sorted[keep++] = sorted[i];
                }
            }
        }

        context.Rescored += keep;
        float* row = context.Row(_dims);
        float[] radii = context.Radii(keep);
        float spread = deviations * HalfErrorPerElement;
        int rowBytes = _dims * sizeof(Half);
        for (int i = 0; i < keep; i++)
        {
            Prefetch(_halves + ((long)sorted[i].Node * _dims));
        }

        for (int i = 0; i < keep; i++)
        {
            if (i + 1 < keep)
            {
                byte* p = (byte*)(_halves + ((long)sorted[i + 1].Node * _dims));
                for (int offset = 64; offset < rowBytes; offset += 64)
                {
                    Prefetch(p + offset);
                }
            }

            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(
                new ReadOnlySpan<Half>(_halves + ((long)sorted[i].Node * _dims), _dims), new Span<float>(row, _dims));
            sorted[i].Distance = 1f - DotAndSquares(q, row, _dims, out float squares);
            radii[i] = float.IsFinite(deviations) ? spread * MathF.Sqrt(squares) : float.PositiveInfinity;
        }

        Comparison<(float Distance, int Node)> closest = static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Node.CompareTo(b.Node);
        sorted.AsSpan(0, keep).Sort(radii.AsSpan(0, keep), closest);
        if (keep <= count)
        {
            return keep; // all of them are returned: no line to draw
        }

        // The line between the first count and the rest: a returned result whose float16 distance plus its error
        // could pass the smallest (distance − error) of the rest, and one of the rest that could pass the largest
        // (distance + error) of the returned, are on the line; scoring those with their float32 rows decides it.
        float returnedUpper = float.NegativeInfinity, restLower = float.PositiveInfinity;
        for (int i = 0; i < count; i++)
        {
            returnedUpper = Math.Max(returnedUpper, sorted[i].Distance + radii[i]);
        }

        for (int i = count; i < keep; i++)
        {
            restLower = Math.Min(restLower, sorted[i].Distance - radii[i]);
        }

        int exact = 0;
        MappedRowStorage? file = ReadRowsFromFile ? _matrix.File : null;
        int[] rowOfNode = _rowOfNode;
        for (int i = 0; i < keep; i++)
        {
            bool online = i < count ? sorted[i].Distance + radii[i] >= restLower : sorted[i].Distance - radii[i] <= returnedUpper;
            if (!online)
            {
                continue;
            }

            int node = sorted[i].Node;
            int r = rowOfNode[node];
            sorted[i].Distance = file is not null && r >= 0 && file.ReadRow(r, row) ? 1f - Dot(q, row, _dims) : view.ExactDistance(q, node);
            exact++;
        }

        context.ExactRescored += exact;
        if (exact > 0)
        {
            sorted.AsSpan(0, keep).Sort(closest);
        }

        return keep;
    }
}
