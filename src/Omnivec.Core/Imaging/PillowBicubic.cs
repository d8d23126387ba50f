using System.Buffers;

namespace Omnivec.Imaging;

/// <summary>
/// Bit-exact re-implementation of Pillow's <c>Image.resize(size, Image.BICUBIC)</c> for 8-bit RGB (libImaging/Resample.c):
/// separable, horizontal pass then vertical pass, each pass only when that dimension changes; per output pixel a window of
/// source pixels weighted by the a = -0.5 cubic stretched by the scale when shrinking (antialiasing), weights normalised in
/// double then rounded to 22-bit fixed point, accumulation in 32-bit integers, clamped to 0..255 after each pass.
/// Only the output rows and columns a crop needs are computed; each output pixel depends only on its own window, so the
/// result equals the corresponding part of the full resize.
/// </summary>
internal static class PillowBicubic
{
    private const int PrecisionBits = 32 - 8 - 2;
    private const double Support = 2.0;

    /// <summary>Fixed-point filter taps for a range of output positions along one axis. Arrays are pooled; call <see cref="Dispose"/>.</summary>
    internal readonly struct Coefficients : IDisposable
    {
        public Coefficients(int[] weights, int[] starts, int[] lengths, int taps)
        {
            Weights = weights;
            Starts = starts;
            Lengths = lengths;
            Taps = taps;
        }

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
            ArrayPool<int>.Shared.Return(Starts);
            ArrayPool<int>.Shared.Return(Lengths);
        }
    }

    /// <summary>Pillow's cubic kernel with a = -0.5 (its BICUBIC filter), evaluated in the same operation order.</summary>
    internal static double Filter(double x)
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
    internal static Coefficients Compute(int inSize, int outSize, int first, int count)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = Support * filterScale;
        int taps = (int)Math.Ceiling(support) * 2 + 1;
        int[] weights = ArrayPool<int>.Shared.Rent(count * taps);
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
                double w = Filter((x + min - center + 0.5) * inverse);
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

            starts[i] = min;
            lengths[i] = Math.Max(length, 0);
        }

        return new Coefficients(weights, starts, lengths, taps);
    }

    private static byte Clip8(int value)
    {
        int v = value >> PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    /// <summary>One output row of the horizontal pass: <paramref name="dst"/> gets count RGB pixels from the RGB row <paramref name="src"/>.</summary>
    internal static void HorizontalRow(ReadOnlySpan<byte> src, Span<byte> dst, in Coefficients c, int count)
    {
        ReadOnlySpan<int> weights = c.Weights;
        for (int i = 0; i < count; i++)
        {
            int length = c.Lengths[i];
            ReadOnlySpan<int> k = weights.Slice(i * c.Taps, length);
            ReadOnlySpan<byte> window = src.Slice(c.Starts[i] * 3, length * 3);
            int r = 1 << (PrecisionBits - 1), g = r, b = r;
            for (int x = 0, s = 0; x < k.Length; x++, s += 3)
            {
                int w = k[x];
                r += window[s] * w;
                g += window[s + 1] * w;
                b += window[s + 2] * w;
            }

            dst[i * 3] = Clip8(r);
            dst[i * 3 + 1] = Clip8(g);
            dst[i * 3 + 2] = Clip8(b);
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
            for (int x = 0; x < row.Length; x++)
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
