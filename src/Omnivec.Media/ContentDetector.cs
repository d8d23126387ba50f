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

        ReadOnlySpan<byte> pixels = frame.Pixels;
        int stride = frame.Stride;
        int o = 0;
        for (int y = 0; y < frame.Height; y += Step)
        {
            ReadOnlySpan<byte> row = pixels.Slice(y * stride, stride);
            for (int x = 0; x < frame.Width; x += Step)
            {
                ToHsv(row[x * 3], row[x * 3 + 1], row[x * 3 + 2], out _current[o], out _current[o + 1], out _current[o + 2]);
                o += 3;
            }
        }

        double score = 0;
        if (_previous is not null)
        {
            long h0 = 0, s0 = 0, v0 = 0;
            for (int i = 0; i < _current.Length; i += 3)
            {
                h0 += Math.Abs(_current[i] - _previous[i]);
                s0 += Math.Abs(_current[i + 1] - _previous[i + 1]);
                v0 += Math.Abs(_current[i + 2] - _previous[i + 2]);
            }

            double n = _current.Length / 3.0;
            score = (h0 / n + s0 / n + v0 / n) / 3.0;
        }

        (_previous, _current) = (_current, _previous ?? new byte[_current.Length]);
        return score;
    }

    /// <summary>Forgets the previous frame (the next score is 0).</summary>
    public void Reset() => _previous = null;

    /// <summary>OpenCV's RGB→HSV for 8-bit images: H = hue/2 (0-179), S and V 0-255.</summary>
    internal static void ToHsv(byte r, byte g, byte b, out byte h, out byte s, out byte v)
    {
        int max = Math.Max(r, Math.Max(g, b));
        int min = Math.Min(r, Math.Min(g, b));
        int delta = max - min;
        v = (byte)max;
        s = max == 0 ? (byte)0 : (byte)((delta * 255 + max / 2) / max);
        if (delta == 0)
        {
            h = 0;
            return;
        }

        double hue;
        if (max == r)
        {
            hue = 60.0 * (g - b) / delta;
        }
        else if (max == g)
        {
            hue = 120.0 + 60.0 * (b - r) / delta;
        }
        else
        {
            hue = 240.0 + 60.0 * (r - g) / delta;
        }

        if (hue < 0)
        {
            hue += 360;
        }

        h = (byte)Math.Min(179, (int)Math.Round(hue / 2));
    }
}
