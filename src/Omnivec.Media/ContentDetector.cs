using Omnivec.Imaging;

namespace Omnivec.Media;

/// <summary>
/// Frame-to-frame content change in the manner of PySceneDetect's ContentDetector: the mean absolute difference of hue,
/// saturation and value between consecutive frames, averaged over the three channels, on OpenCV's 8-bit HSV scale
/// (H 0-179, S and V 0-255), so thresholds are comparable with PySceneDetect's (its default is 27). Computed on every
/// second pixel of every second row of the (already small) analysis frame.
/// </summary>
internal sealed class ContentDetector
{
    private const int Step = 2;
    private const int Shift = 12;

    // OpenCV's fixed-point tables for 8-bit RGB→HSV (imgproc color_hsv): S = diff·255/V and H = (hue in sixths)·180/(6·diff),
    // both rounded from 12-bit fixed point, so the conversion is integer-only and matches cv2.cvtColor's.
    private static readonly int[] SaturationDivisor = Table(i => 255.0 * (1 << Shift) / i);
    private static readonly int[] HueDivisor = Table(i => 180.0 * (1 << Shift) / (6.0 * i));

    private byte[]? _previous;
    private byte[]? _current;
    private int _width;
    private int _height;

    /// <summary>The change from the previous frame to this one (0 for the first frame of a stream).</summary>
    public double Score(RgbImage frame)
    {
        int w = (frame.Width + Step - 1) / Step;
        int h = (frame.Height + Step - 1) / Step;
        if (_current is null || w != _width || h != _height)
        {
            _width = w;
            _height = h;
            _current = new byte[w * h * 3];
            _previous = null;
        }

        // Planar H, S, V so the difference below runs over contiguous bytes of one channel.
        int plane = w * h;
        Span<byte> hue = _current.AsSpan(0, plane);
        Span<byte> sat = _current.AsSpan(plane, plane);
        Span<byte> val = _current.AsSpan(2 * plane, plane);
        ReadOnlySpan<byte> pixels = frame.Pixels;
        int stride = frame.Stride;
        int o = 0;
        for (int y = 0; y < frame.Height; y += Step)
        {
            ReadOnlySpan<byte> row = pixels.Slice(y * stride, stride);
            for (int x = 0; x + 2 < row.Length; x += 3 * Step)
            {
                ToHsv(row[x], row[x + 1], row[x + 2], out hue[o], out sat[o], out val[o]);
                o++;
            }
        }

        double score = 0;
        if (_previous is not null)
        {
            double n = plane;
            ReadOnlySpan<byte> previous = _previous;
            long h0 = AbsoluteDifference(hue, previous[..plane]);
            long s0 = AbsoluteDifference(sat, previous.Slice(plane, plane));
            long v0 = AbsoluteDifference(val, previous.Slice(2 * plane, plane));
            score = (h0 / n + s0 / n + v0 / n) / 3.0;
        }

        (_previous, _current) = (_current, _previous ?? new byte[_current.Length]);
        return score;
    }

    /// <summary>Forgets the previous frame (the next score is 0).</summary>
    public void Reset() => _previous = null;

    /// <summary>OpenCV's RGB→HSV for 8-bit images (cv2.COLOR_RGB2HSV): H = hue/2 (0-179), S and V 0-255, in integer arithmetic.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static void ToHsv(byte r, byte g, byte b, out byte h, out byte s, out byte v)
    {
        int max = Math.Max(r, Math.Max(g, b));
        int diff = max - Math.Min(r, Math.Min(g, b));
        int vr = max == r ? -1 : 0;
        int vg = max == g ? -1 : 0;
        int sat = ((diff * SaturationDivisor[max]) + (1 << (Shift - 1))) >> Shift;
        int hue = (vr & (g - b)) + (~vr & ((vg & (b - r + (2 * diff))) + (~vg & (r - g + (4 * diff)))));
        hue = ((hue * HueDivisor[diff]) + (1 << (Shift - 1))) >> Shift;
        hue += hue < 0 ? 180 : 0;
        v = (byte)max;
        s = (byte)sat;
        h = (byte)Math.Min(hue, 179);
    }

    /// <summary>The sum of |a[i] - b[i]| over two byte runs of equal length (vectorised).</summary>
    internal static long AbsoluteDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        long sum = 0;
        int i = 0;
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
        {
            ref byte ra = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a);
            ref byte rb = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(b);
            for (; i + 16 <= a.Length; i += 16)
            {
                var x = System.Runtime.Intrinsics.Vector128.LoadUnsafe(ref ra, (nuint)i);
                var y = System.Runtime.Intrinsics.Vector128.LoadUnsafe(ref rb, (nuint)i);
                var d = System.Runtime.Intrinsics.Vector128.Max(x, y) - System.Runtime.Intrinsics.Vector128.Min(x, y);
                (var lo, var hi) = System.Runtime.Intrinsics.Vector128.Widen(d);
                sum += System.Runtime.Intrinsics.Vector128.Sum(lo + hi);
            }
        }

        for (; i < a.Length; i++)
        {
            sum += Math.Abs(a[i] - b[i]);
        }

        return sum;
    }

    private static int[] Table(Func<int, double> value)
    {
        int[] table = new int[256];
        for (int i = 1; i < 256; i++)
        {
            table[i] = (int)Math.Round(value(i));
        }

        return table;
    }
}
