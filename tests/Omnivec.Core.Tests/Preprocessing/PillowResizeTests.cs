using System.Text.Json;
using Omnivec.Preprocessing;
using Omnivec.Tests;

namespace Omnivec.Core.Tests.Preprocessing;

/// <summary>
/// Bit-exactness of the managed resampler against Pillow 9.4 on a synthetic image (tests/fixtures/pillow/synthetic.*,
/// made by tools/make_pillow_references.py): downscale, upscale, one axis, extreme aspect, 1x1, identity, with BICUBIC and
/// BILINEAR, and both crop roundings.
/// </summary>
public class PillowResizeTests
{
    private static readonly string s_dir = Path.Combine(TestPaths.Fixtures, "pillow");

    internal static RgbImage Synthetic(int width, int height)
    {
        var image = RgbImage.Allocate(width, height);
        Span<byte> p = image.Pixels;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                for (int c = 0; c < 3; c++)
                {
                    p[(y * width + x) * 3 + c] = x < 32
                        ? (byte)((x / 3 + y / 2 + c) % 2 == 0 ? 255 : 0)
                        : (byte)((x * 31 + y * 17 + c * 101 + (x * y % 7) * 29) % 256);
                }
            }
        }

        return image;
    }

    public static TheoryData<int> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_dir, "synthetic.json")));
        var data = new TheoryData<int>();
        for (int i = 0; i < doc.RootElement.GetProperty("cases").GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resize_and_crop_match_pillow_bit_for_bit(int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_dir, "synthetic.json")));
        JsonElement source = doc.RootElement.GetProperty("source");
        JsonElement c = doc.RootElement.GetProperty("cases")[index];
        string kind = c.GetProperty("kind").GetString()!;
        int w = c.GetProperty("width").GetInt32(), h = c.GetProperty("height").GetInt32();
        byte[] expected = File.ReadAllBytes(Path.Combine(s_dir, "synthetic.bin")).AsSpan(c.GetProperty("offset").GetInt32(), w * h * 3).ToArray();

        ImagePreprocessorSettings settings = kind is "resize" or "resize-bilinear"
            ? new()
            {
                ShortestEdge = 0, ResizeWidth = w, ResizeHeight = h, CenterCrop = false,
                Resample = kind == "resize-bilinear" ? ResampleFilter.Bilinear : ResampleFilter.Bicubic,
            }
            : new()
            {
                ShortestEdge = c.GetProperty("shortest_edge").GetInt32(),
                CropWidth = w,
                CropHeight = h,
                Alignment = kind == "tv" ? CropAlignment.TorchVision : CropAlignment.Transformers,
            };
        var preprocessor = new ImagePreprocessor(settings);
        using RgbImage image = Synthetic(source[0].GetInt32(), source[1].GetInt32());
        var actual = new byte[w * h * 3];
        preprocessor.ResizeAndCrop(image, actual);

        int differing = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            differing += actual[i] != expected[i] ? 1 : 0;
        }

        Assert.True(differing == 0, $"{kind} {w}x{h}: {differing} of {actual.Length} values differ from Pillow");
    }

    [Fact]
    public void The_two_crop_roundings_really_differ_on_the_synthetic_case()
    {
        // Guards the fixture: margin 11 gives offset 5 (floor) vs 6 (round half to even of 5.5).
        Assert.Equal(5, ImagePreprocessor.CropOffset(31, 20, CropAlignment.Transformers));
        Assert.Equal(6, ImagePreprocessor.CropOffset(31, 20, CropAlignment.TorchVision));
        Assert.Equal(16, ImagePreprocessor.CropOffset(257, 224, CropAlignment.TorchVision)); // 16.5 → 16 (even)
        Assert.Equal(16, ImagePreprocessor.CropOffset(257, 224, CropAlignment.Transformers));
        Assert.Equal(-3, ImagePreprocessor.CropOffset(219, 224, CropAlignment.Transformers)); // pad ceil(5/2) before
        Assert.Equal(-2, ImagePreprocessor.CropOffset(219, 224, CropAlignment.TorchVision));  // pad 5//2 before
    }

    [Fact]
    public void Bilinear_is_a_real_second_filter_not_bicubic_under_another_name()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_dir, "synthetic.json")));
        Assert.Contains(doc.RootElement.GetProperty("cases").EnumerateArray(), c => c.GetProperty("kind").GetString() == "resize-bilinear");
        Assert.Equal(0.5, PillowResample.BilinearFilter(0.5), 12);
        Assert.Equal(0.0, PillowResample.BilinearFilter(1.0));
        using RgbImage image = Synthetic(97, 61);
        byte[] cubic = new byte[40 * 30 * 3], linear = new byte[40 * 30 * 3];
        new ImagePreprocessor(new() { ShortestEdge = 0, ResizeWidth = 40, ResizeHeight = 30, CenterCrop = false }).ResizeAndCrop(image, cubic);
        new ImagePreprocessor(new() { ShortestEdge = 0, ResizeWidth = 40, ResizeHeight = 30, CenterCrop = false, Resample = ResampleFilter.Bilinear }).ResizeAndCrop(image, linear);
        Assert.NotEqual(cubic, linear);
    }

    [Fact]
    public void Kernel_is_pillows_bicubic()
    {
        Assert.Equal(1.0, PillowResample.BicubicFilter(0));
        Assert.Equal(0.0, PillowResample.BicubicFilter(1));
        Assert.Equal(0.0, PillowResample.BicubicFilter(2));
        Assert.Equal(0.5625, PillowResample.BicubicFilter(0.5), 12);   // (1.5 * 0.5 - 2.5) * 0.25 + 1
        Assert.Equal(-0.0625, PillowResample.BicubicFilter(-1.5), 12); // ((-3.5 * 1.5 + 8) * 1.5 - 4) * -0.5
    }
}
