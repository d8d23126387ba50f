using System.Numerics;

namespace Omnivec.Preprocessing;

/// <summary>
/// Power spectrum of a real frame of power-of-two length N, in double precision: one complex radix-2 FFT of length N/2
/// on the even/odd samples packed as real/imaginary parts, then the split step. Immutable tables; a scratch buffer per call.
/// </summary>
internal sealed class RealFft
{
    private readonly int _n;
    private readonly int _half;
    private readonly int[] _bitReverse;   // for the N/2-point complex FFT
    private readonly double[] _cos;       // e^{-2πik/N}: cos and sin for k in [0, N/2)
    private readonly double[] _sin;

    public RealFft(int n)
    {
        if (n < 4 || (n & (n - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, "FFT length must be a power of two of at least 4.");
        }

        _n = n;
        _half = n / 2;
        int bits = BitOperations.Log2((uint)_half);
        _bitReverse = new int[_half];
        for (int i = 0; i < _half; i++)
        {
            int r = 0;
            for (int b = 0; b < bits; b++)
            {
                r |= ((i >> b) & 1) << (bits - 1 - b);
            }

            _bitReverse[i] = r;
        }

        _cos = new double[_half];
        _sin = new double[_half];
        for (int k = 0; k < _half; k++)
        {
            double angle = -2.0 * Math.PI * k / n;
            _cos[k] = Math.Cos(angle);
            _sin[k] = Math.Sin(angle);
        }
    }

    /// <summary>Length of the real input.</summary>
    public int Length => _n;

    /// <summary>Doubles of scratch <see cref="Power"/> needs (<see cref="Length"/>).</summary>
    public int ScratchLength => _n;

    /// <summary>|X[k]|² for k in [0, N/2] of the real frame <paramref name="frame"/> (length N).</summary>
    public void Power(ReadOnlySpan<double> frame, Span<double> power, Span<double> scratch)
    {
        int m = _half;
        Span<double> re = scratch[..m];
        Span<double> im = scratch.Slice(m, m);
        for (int i = 0; i < m; i++)
        {
            int j = _bitReverse[i];
            re[j] = frame[2 * i];
            im[j] = frame[2 * i + 1];
        }

        // Iterative radix-2 decimation in time on M = N/2 points; the twiddle of stage size s is e^{-2πik/s} = table[k * N/s].
        for (int size = 2; size <= m; size <<= 1)
        {
            int halfSize = size >> 1;
            int step = _n / size;
            for (int start = 0; start < m; start += size)
            {
                for (int k = 0; k < halfSize; k++)
                {
                    double wr = _cos[k * step];
                    double wi = _sin[k * step];
                    int a = start + k;
                    int b = a + halfSize;
                    double tr = wr * re[b] - wi * im[b];
                    double ti = wr * im[b] + wi * re[b];
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
        }

        // Split: X[k] = E[k] + W^k O[k], E = (Z[k] + conj Z[M-k]) / 2, O = (Z[k] - conj Z[M-k]) / 2i.
        double z0r = re[0];
        double z0i = im[0];
        power[0] = (z0r + z0i) * (z0r + z0i);
        power[m] = (z0r - z0i) * (z0r - z0i);
        for (int k = 1; k < m; k++)
        {
            double ar = re[k];
            double ai = im[k];
            double br = re[m - k];
            double bi = -im[m - k];
            double er = 0.5 * (ar + br);
            double ei = 0.5 * (ai + bi);
            double dr = ar - br;
            double di = ai - bi;
            double or = 0.5 * di;
            double oi = -0.5 * dr;
            double wr = _cos[k];
            double wi = _sin[k];
            double xr = er + wr * or - wi * oi;
            double xi = ei + wr * oi + wi * or;
            power[k] = xr * xr + xi * xi;
        }
    }
}
