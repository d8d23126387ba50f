using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Omnivec.Index.Search;

namespace Omnivec.Index.Hnsw;

/// <summary>
/// Compact vectors for the graph walk: one int8 code per dimension and one float scale per node (scale = the largest
/// magnitude ÷ 127), 516 bytes per 512-d node instead of 2,048. A search walks the graph on the codes (a quarter of the
/// memory read per neighbour) and re-scores the nodes it keeps (ef of them) with the exact float32 rows, so the
/// scores a search returns are the float32 dot products, and only those rows are read from the matrix. With the codes
/// in memory the matrix rows need not be: the owner maps them from the snapshot file (pages count in the process's
/// resident memory only once a re-score touches them). Builds and inserts link with the float32 rows, as before.
/// </summary>
internal sealed unsafe partial class HnswIndex
{
    private byte* _codes;        // node-indexed, _dims bytes per node, 64-byte aligned
    private float[] _codeScales = [];
    private long _codeCapacity;

    /// <summary>Standard deviations of the codes' error within which results are re-scored (see <see cref="Rescore"/>).</summary>
    internal const float RescoreDeviations = 4f;

    private static readonly float InverseSqrt12 = 1f / MathF.Sqrt(12f);

    /// <summary>
    /// Whether the rows to re-score are read with pread when the matrix is mapped from its file (where it can), not
    /// through the mapping: each page fault on the mapping also maps up to 15 cached neighbouring pages (fault-around,
    /// which <c>MADV_RANDOM</c> does not stop), so a few thousand queries made the whole file resident in the process
    /// (100k: 2,658–2,775 bytes per vector after the bench's queries, against 883 with pread). Costs a system call
    /// per re-scored row (10–15 per query for 10 hits). False only in tests comparing the two.
    /// </summary>
    internal bool ReadRowsFromFile { get; set; } = true;

    /// <summary>Whether searches walk on int8 codes (and re-score with the float32 rows).</summary>
    public bool HasCodes => _codes is not null;

    /// <summary>Bytes the codes take (0 without codes).</summary>
    public long CodeBytes => _codes is null ? 0 : (_codeCapacity * _dims) + ((long)_codeScales.Length * sizeof(float));

    /// <summary>
    /// Gives every node an int8 code from its float32 vector; searches walk on the codes from then on, and nodes
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
        _codeScales = new float[capacity];
        _codeCapacity = capacity;
        float* d = _matrix.Data;
        var view = new View(this, d);
        for (int node = 0; node < _count; node++)
        {
            Encode(node, view.Vector(node));
        }
    }

    /// <summary>Writes the code of <paramref name="node"/> (room for it is there) from its float32 vector.</summary>
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
            _codes = null;
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

    /// <summary>
    /// Re-scores the walk's results within the codes' error of the <paramref name="count"/>-th: one code's dot
    /// product is off by Σ q[i]·e[i] with the rounding errors e[i] uniform in ±scale/2 and independent, a standard
    /// deviation of scale·‖q‖/√12; a result whose code distance exceeds the <paramref name="count"/>-th one's by more
    /// than <paramref name="deviations"/> of those (its own plus the largest among the first <paramref name="count"/>)
    /// cannot be closer than any of them in float32, bar an error that large. At 512-d that leaves 10 to 20 of
    /// ef 64 to 512 results to re-score for 10 hits (measured: docs/benchmarks.md). Returns how many results
    /// <see cref="SearchContext.Sorted"/> now holds, re-scored with the float32 rows and sorted again (closest first;
    /// ties by node, so the order is reproducible).
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
        if (ReadRowsFromFile && _matrix.File is { } file)
        {
            float* row = context.Row(_dims);
            int[] rowOfNode = _rowOfNode;
            for (int i = 0; i < keep; i++)
            {
                int r = rowOfNode[sorted[i].Node];
                sorted[i].Distance = r >= 0 && file.ReadRow(r, row) ? 1f - Dot(q, row, _dims) : view.ExactDistance(q, sorted[i].Node);
            }
        }
        else
        {
            for (int i = 0; i < keep; i++)
            {
                Prefetch(view.Vector(sorted[i].Node));
            }

            int vectorBytes = view.Dimensions * sizeof(float);
            for (int i = 0; i < keep; i++)
            {
                if (i + 1 < keep)
                {
                    byte* p = (byte*)view.Vector(sorted[i + 1].Node);
                    for (int offset = 64; offset < vectorBytes; offset += 64)
                    {
                        Prefetch(p + offset);
                    }
                }

                sorted[i].Distance = view.ExactDistance(q, sorted[i].Node);
            }
        }

        sorted.AsSpan(0, keep).Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Node.CompareTo(b.Node));
        return keep;
    }
}
