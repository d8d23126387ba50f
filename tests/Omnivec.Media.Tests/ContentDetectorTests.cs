namespace Omnivec.Media.Tests;

public sealed class ContentDetectorTests
{
    [Fact]
    public void Hsv_matches_the_documented_OpenCV_conversion_within_rounding()
    {
        // cv2.COLOR_RGB2HSV for 8-bit images, as OpenCV documents it: V = max, S = 255·(V − min)/V, H = the hue angle / 2.
        for (int r = 0; r < 256; r += 3)
        {
            for (int g = 0; g < 256; g += 5)
            {
                for (int b = 0; b < 256; b += 7)
                {
                    ContentDetector.ToHsv((byte)r, (byte)g, (byte)b, out byte h, out byte s, out byte v);
                    (double eh, double es, double ev) = Reference(r, g, b);
                    Assert.Equal(ev, v);
                    Assert.True(Math.Abs(es - s) <= 1, $"S of ({r},{g},{b}): {s}, documented {es:0.00}");
                    double dh = Math.Abs(eh - h);
                    Assert.True(Math.Min(dh, 180 - dh) <= 1, $"H of ({r},{g},{b}): {h}, documented {eh:0.00}");
                }
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(1003)]
    public void Absolute_difference_sums_every_byte(int length)
    {
        var random = new Random(length);
        byte[] a = new byte[length];
        byte[] b = new byte[length];
        random.NextBytes(a);
        random.NextBytes(b);
        long expected = 0;
        for (int i = 0; i < length; i++)
        {
            expected += Math.Abs(a[i] - b[i]);
        }

        Assert.Equal(expected, ContentDetector.AbsoluteDifference(a, b));
    }

    [Fact]
    public void Score_is_zero_for_the_same_picture_and_the_mean_HSV_change_for_another()
    {
        using RgbImage red = Solid(64, 36, 200, 0, 0);
        using RgbImage blue = Solid(64, 36, 0, 0, 200);
        var detector = new ContentDetector();
        Assert.Equal(0, detector.Score(red));
        Assert.Equal(0, detector.Score(red));
        // Red (H 0, S 255, V 200) to blue (H 120, S 255, V 200): mean of |ΔH| = 120, |ΔS| = 0, |ΔV| = 0.
        Assert.Equal(40, detector.Score(blue), 6);
        detector.Reset();
        Assert.Equal(0, detector.Score(red));
    }

    private static RgbImage Solid(int width, int height, byte r, byte g, byte b)
    {
        var image = RgbImage.Allocate(width, height);
        Span<byte> pixels = image.Pixels;
        for (int i = 0; i < pixels.Length; i += 3)
        {
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (r, g, b);
        }

        return image;
    }

    private static (double H, double S, double V) Reference(int r, int g, int b)
    {
        double max = Math.Max(r, Math.Max(g, b));
        double min = Math.Min(r, Math.Min(g, b));
        double s = max == 0 ? 0 : 255 * (max - min) / max;
        if (max == min)
        {
            return (0, s, max);
        }

        double hue = max == r ? 60 * (g - b) / (max - min) : max == g ? 120 + (60 * (b - r) / (max - min)) : 240 + (60 * (r - g) / (max - min));
        hue = hue < 0 ? hue + 360 : hue;
        return (hue / 2 % 180, s, max);
    }
}
