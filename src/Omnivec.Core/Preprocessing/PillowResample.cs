using System.Buffers;
using System.Runtime.Intrinsics;

namespace Omnivec.Preprocessing;

/// <summary>
/// Bit-exact re-implementation of Pillow's <c>Image.resize(size, Image.BICUBIC)</c> and <c>Image.BILINEAR</c> for 8-bit RGB
/// (libImaging/Resample.c): separable, horizontal pass then vertical pass, each pass only when that dimension changes; per
/// output pixel a window of source pixels weighted by the filter (the a = -0.5 cubic with support 2, or the triangle with
/// support 1) stretched by the scale when shrinking (antialiasing), weights normalised in
/// double then rounded to 22-bit fixed point, accumulation in 32-bit integers, clamped to 0..255 after each pass.
/// Only the output rows and columns a crop needs are computed; each output pixel depends only on its own window, so the
/// result equals the corresponding part of the full resize.
/// </summary>
internal static class PillowResample
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Fixed-point filter taps for a range of output positions along one axis. Arrays are pooled; call <see cref="Dispose"/>.</summary>
    internal readonly struct Coefficients : IDisposable
    {
        public Coefficients(int[] weights, int[] expanded, int[] starts, int[] lengths, int taps)
        {
            Weights = weights;
            Expanded = expanded;
            Starts = starts;
            Lengths = lengths;
            Taps = taps;
        }

        /// <summary>
        /// Each weight repeated three times (R, G, B), <see cref="ExpandedStride"/> per output position and zero beyond the window,
        /// for the vectorised horizontal pass.
        /// </summary>
        public int[] Expanded { get; }

        /// <summary>3 × <see cref="Taps"/> rounded up to a whole number of 24-value blocks.</summary>
        public int ExpandedStride => (Taps * 3 + 23) / 24 * 24;

        /// <summary>Row-major [output index][tap], <see cref="Taps"/> per output position.</summary>
        public int[] Weights { get; }

        /// <summary>First source index of each output position's window.</summary>
        public int[] Starts { get; }

        /// <summary>Window length of each output position.</summary>
        public int[] Lengths { get; }

        public int Taps { get; }

        public void Dispose()
        {
            ArrayPool<int>.Shared.Return(Weights);
            ArrayPool<int>.Shared.Return(Expanded);
            ArrayPool<int>.Shared.Return(Starts);
            ArrayPool<int>.Shared.Return(Lengths);
        }
    }

    /// <summary>Pillow's triangle kernel (its BILINEAR filter, support 1).</summary>
    internal static double BilinearFilter(double x)
    {
        if (x < 0.0)
        {
            x = -x;
        }

        return x < 1.0 ? 1.0 - x : 0.0;
    }

    /// <summary>Pillow's cubic kernel with a = -0.5 (its BICUBIC filter, support 2), evaluated in the same operation order.</summary>
    internal static double BicubicFilter(double x)
    {
        const double a = -0.5;
        if (x < 0.0)
        {
            x = -x;
        }

        if (x < 1.0)
        {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }

        if (x < 2.0)
        {
            return (((x - 5) * x + 8) * x - 4) * a;
        }

        return 0.0;
    }

    /// <summary>Taps for output positions <paramref name="first"/> .. first + count - 1 of a resize from inSize to outSize.</summary>
    internal static Coefficients Compute(int inSize, int outSize, int first, int count, ResampleFilter filter = ResampleFilter.Bicubic)
    {
        Func<double, double> kernel = filter == ResampleFilter.Bilinear ? BilinearFilter : BicubicFilter;
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = (filter == ResampleFilter.Bilinear ? 1.0 : 2.0) * filterScale;
        int taps = (int)Math.Ceiling(support) * 2 + 1;
        int[] weights = ArrayPool<int>.Shared.Rent(count * taps);
        int expandedStride = (taps * 3 + 23) / 24 * 24;
        int[] expanded = ArrayPool<int>.Shared.Rent(count * expandedStride);
        int[] starts = ArrayPool<int>.Shared.Rent(count);
        int[] lengths = ArrayPool<int>.Shared.Rent(count);
        Span<double> k = taps <= 256 ? stackalloc double[taps] : new double[taps];
        double inverse = 1.0 / filterScale;
        for (int i = 0; i < count; i++)
        {
            double center = (first + i + 0.5) * scale;
            // "+ 0.5" then truncation: Pillow's rounding of the window ends.
            int min = Math.Max((int)(center - support + 0.5), 0);
            int length = Math.Min((int)(center + support + 0.5), inSize) - min;
            double sum = 0.0;
            for (int x = 0; x < length; x++)
            {
                double w = kernel((x + min - center + 0.5) * inverse);
                k[x] = w;
                sum += w;
            }

            Span<int> row = weights.AsSpan(i * taps, taps);
            row.Clear();
            for (int x = 0; x < length; x++)
            {
                double w = sum != 0.0 ? k[x] / sum : k[x];
                // Round half away from zero to 22 fractional bits.
                row[x] = w < 0 ? (int)(-0.5 + w * (1 << PrecisionBits)) : (int)(0.5 + w * (1 << PrecisionBits));
            }

            Span<int> wide = expanded.AsSpan(i * expandedStride, expandedStride);
            wide.Clear();
            for (int x = 0; x < taps; x++)
            {
                wide[3 * x] = wide[3 * x + 1] = wide[3 * x + 2] = row[x];
            }

            starts[i] = min;
            lengths[i] = Math.Max(length, 0);
        }

        return new Coefficients(weights, expanded, starts, lengths, taps);
    }

    private static byte Clip8(int value)
    {
        int v = value >> PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    /// <summary>
    /// One output row of the horizontal pass: <paramref name="dst"/> gets count RGB pixels from the RGB row <paramref name="src"/>.
    /// <paramref name="widened"/> (at least src.Length ints) receives the row as ints so windows can be read as int vectors:
    /// blocks of 24 values (8 pixels) are multiplied by the per-channel weights in three 8-lane accumulators whose lanes map
    /// to fixed channels (24 is a multiple of 3), and the rest of each window is summed in scalar code. Integer sums are exact,
    /// so the order of additions does not change the result.
    /// </summary>
    internal static void HorizontalRow(ReadOnlySpan<byte> src, Span<byte> dst, in Coefficients c, int count, Span<int> widened)
    {
        int stride = c.ExpandedStride;
        int lo = int.MaxValue, hi = 0;
        for (int i = 0; i < count; i++)
        {
            lo = Math.Min(lo, c.Starts[i] * 3);
            hi = Math.Max(hi, (c.Starts[i] + c.Lengths[i]) * 3);
        }

        Widen(src[lo..hi], widened[lo..hi]);
        ReadOnlySpan<int> expanded = c.Expanded;
        bool vector = Vector256.IsHardwareAccelerated && widened.Length >= src.Length + 24;
        for (int i = 0; i < count; i++)
        {
            int length3 = c.Lengths[i] * 3;
            int start3 = c.Starts[i] * 3;
            ReadOnlySpan<int> k = expanded.Slice(i * stride, stride);
            int r = 1 << (PrecisionBits - 1), g = r, b = r;
            if (vector)
            {
                // Whole blocks only: past the window the weights are zero, and widened has 24 spare ints at its end, so the
                // extra products are 0 × (some finite int) = 0.
                ReadOnlySpan<int> window = widened.Slice(start3, (length3 + 23) / 24 * 24);
                Vector256<int> a0 = Vector256<int>.Zero, a1 = a0, a2 = a0;
                for (int j = 0; j < window.Length; j += 24)
                {
                    a0 += Vector256.Create(window.Slice(j, 8)) * Vector256.Create(k.Slice(j, 8));
                    a1 += Vector256.Create(window.Slice(j + 8, 8)) * Vector256.Create(k.Slice(j + 8, 8));
                    a2 += Vector256.Create(window.Slice(j + 16, 8)) * Vector256.Create(k.Slice(j + 16, 8));
                }

                // Lane l of a0 holds channel l % 3, of a1 channel (l + 8) % 3, of a2 channel (l + 16) % 3.
                r += Vector256.Sum((a0 & s_mask0) + (a1 & s_mask1) + (a2 & s_mask2));
                g += Vector256.Sum((a0 & s_mask1) + (a1 & s_mask2) + (a2 & s_mask0));
                b += Vector256.Sum((a0 & s_mask2) + (a1 & s_mask0) + (a2 & s_mask1));
            }
            else
            {
                ReadOnlySpan<int> window = widened.Slice(start3, length3);
                for (int j = 0; j < length3; j += 3)
                {
                    int w = k[j];
                    r += window[j] * w;
                    g += window[j + 1] * w;
                    b += window[j + 2] * w;
                }
            }

            dst[i * 3] = Clip8(r);
            dst[i * 3 + 1] = Clip8(g);
            dst[i * 3 + 2] = Clip8(b);
        }
    }

    // s_maskN keeps the lanes l with l % 3 == N. In a0 those hold channel N; a1 and a2 are shifted by 8 and 16 values,
    // so their channel-N lanes are selected by mask (N + 1) % 3 and (N + 2) % 3.
    private static readonly Vector256<int> s_mask0 = Vector256.Create(-1, 0, 0, -1, 0, 0, -1, 0);
    private static readonly Vector256<int> s_mask1 = Vector256.Create(0, -1, 0, 0, -1, 0, 0, -1);
    private static readonly Vector256<int> s_mask2 = Vector256.Create(0, 0, -1, 0, 0, -1, 0, 0);

    private static void Widen(ReadOnlySpan<byte> src, Span<int> dst)
    {
        int x = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; x + 32 <= src.Length; x += 32)
            {
                (Vector256<ushort> lo, Vector256<ushort> hi) = Vector256.Widen(Vector256.Create(src.Slice(x, 32)));
                (Vector256<uint> a, Vector256<uint> b) = Vector256.Widen(lo);
                (Vector256<uint> c, Vector256<uint> d) = Vector256.Widen(hi);
                a.AsInt32().CopyTo(dst.Slice(x, 8));
                b.AsInt32().CopyTo(dst.Slice(x + 8, 8));
                c.AsInt32().CopyTo(dst.Slice(x + 16, 8));
                d.AsInt32().CopyTo(dst.Slice(x + 24, 8));
            }
        }

        for (; x < src.Length; x++)
        {
            dst[x] = src[x];
        }
    }

    /// <summary>
    /// One output row of the vertical pass: a weighted sum of the rows <paramref name="rows"/>[start + t] (each <paramref name="rowBytes"/> long,
    /// consecutive in the span) with the taps of output row <paramref name="index"/>.
    /// </summary>
    internal static void VerticalRow(ReadOnlySpan<byte> rows, int rowBytes, int firstRowInSpan, Span<byte> dst, in Coefficients c, int index, Span<int> accumulator)
    {
        int length = c.Lengths[index];
        ReadOnlySpan<int> k = c.Weights.AsSpan(index * c.Taps, length);
        Span<int> acc = accumulator[..rowBytes];
        acc.Fill(1 << (PrecisionBits - 1));
        int start = c.Starts[index] - firstRowInSpan;
        for (int t = 0; t < k.Length; t++)
        {
            int w = k[t];
            ReadOnlySpan<byte> row = rows.Slice((start + t) * rowBytes, rowBytes);
            int x = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                Vector256<int> weight = Vector256.Create(w);
                for (; x + 32 <= row.Length; x += 32)
                {
                    (Vector256<ushort> lo, Vector256<ushort> hi) = Vector256.Widen(Vector256.Create(row.Slice(x, 32)));
                    (Vector256<uint> a, Vector256<uint> b) = Vector256.Widen(lo);
                    (Vector256<uint> cc, Vector256<uint> d) = Vector256.Widen(hi);
                    Span<int> target = acc.Slice(x, 32);
                    (Vector256.Create((ReadOnlySpan<int>)target[..8]) + a.AsInt32() * weight).CopyTo(target[..8]);
                    (Vector256.Create((ReadOnlySpan<int>)target.Slice(8, 8)) + b.AsInt32() * weight).CopyTo(target.Slice(8, 8));
                    (Vector256.Create((ReadOnlySpan<int>)target.Slice(16, 8)) + cc.AsInt32() * weight).CopyTo(target.Slice(16, 8));
                    (Vector256.Create((ReadOnlySpan<int>)target.Slice(24, 8)) + d.AsInt32() * weight).CopyTo(target.Slice(24, 8));
                }
            }

            for (; x < row.Length; x++)
            {
                acc[x] += row[x] * w;
            }
        }

        for (int x = 0; x < acc.Length; x++)
        {
            dst[x] = Clip8(acc[x]);
        }
    }
}
