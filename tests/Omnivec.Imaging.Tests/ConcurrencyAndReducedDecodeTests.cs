using System.Diagnostics;
using Omnivec.Imaging;
using Omnivec.Preprocessing;
using SkiaSharp;
using Xunit.Abstractions;
using static Omnivec.Imaging.Tests.ImageTestHelpers;

namespace Omnivec.Imaging.Tests;

public class ConcurrencyAndReducedDecodeTests(ITestOutputHelper output)
{
    private static readonly ImagePreprocessor s_clip = new(new ImagePreprocessorSettings { ShortestEdge = 224, CropWidth = 224, CropHeight = 224 });

    private static float[] Embed(string path, int targetShortSide = 0)
    {
        using RgbImage image = Decoder.DecodeFile(path, targetShortSide);
        var tensor = new float[s_clip.TensorLength];
        s_clip.Preprocess(image, tensor);
        return tensor;
    }

    [Fact]
    public void Four_threads_decoding_and_preprocessing_at_once_give_identical_tensors()
    {
        string[] files =
        [
            Photos("three_men_indoors.jpg"), Photos("kodak_macaws.png"), Formats("heic_128.heif"),
            Formats("webp_lossy_alpha_1000x307.webp"), Formats("exif_orientation_portrait_6.jpg"), Formats("tiff_rgb_jpeg_128.tif"),
        ];
        float[][] expected = files.Select(f => Embed(f)).ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            for (int round = 0; round < 3; round++)
            {
                for (int k = 0; k < files.Length; k++)
                {
                    int i = (k + t) % files.Length;
                    if (!Embed(files[i]).AsSpan().SequenceEqual(expected[i]))
                    {
                        failures.Add($"thread {t} round {round}: {Path.GetFileName(files[i])}");
                    }
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(failures);
    }

    [Fact]
    public void Reduced_jpeg_decoding_picks_the_largest_reduction_that_keeps_the_factor_times_the_target()
    {
        string path = MakeLargeJpeg();
        using RgbImage full = Decoder.DecodeFile(path);
        using RgbImage reduced = Decoder.DecodeFile(path, targetShortSide: 224); // default 1.5: 1.5 x 224 = 336 <= 1/8 (375)
        using RgbImage off = new ImageDecoder(new ImageDecoderOptions { ReducedDecodeFactor = 0 }).DecodeFile(path, targetShortSide: 224);
        using RgbImage larger = Decoder.DecodeFile(path, targetShortSide: 400); // 1.5 x 400 = 600: 1/8 (375) too small, 1/4 (750)
        using RgbImage two = new ImageDecoder(new ImageDecoderOptions { ReducedDecodeFactor = 2 }).DecodeFile(path, targetShortSide: 224); // 448 > 375: 1/4 (750)
        using RgbImage four = new ImageDecoder(new ImageDecoderOptions { ReducedDecodeFactor = 4 }).DecodeFile(path, targetShortSide: 224);
        Assert.Equal((4000, 3000), (full.Width, full.Height));
        Assert.Equal((500, 375), (reduced.Width, reduced.Height));
        Assert.Equal((4000, 3000), (off.Width, off.Height));
        Assert.Equal((1000, 750), (larger.Width, larger.Height));
        Assert.Equal((1000, 750), (two.Width, two.Height));
        Assert.Equal((2000, 1500), (four.Width, four.Height)); // 1/4 would be 750 < 4 x 224
        // The bench's fixed-scale decode (Omnivec.Bench decodefactors) gives each IDCT scale whatever the target.
        using RgbImage eighth = Decoder.DecodeAtScale(File.ReadAllBytes(path), 8);
        using RgbImage half = Decoder.DecodeAtScale(File.ReadAllBytes(path), 2);
        Assert.Equal((500, 375), (eighth.Width, eighth.Height));
        Assert.Equal((2000, 1500), (half.Width, half.Height));
        Assert.Throws<ArgumentOutOfRangeException>(() => Decoder.DecodeAtScale(File.ReadAllBytes(path), 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDecoder(new ImageDecoderOptions { ReducedDecodeFactor = double.NaN }));
        // PNG and other formats ignore the hint.
        using RgbImage png = Decoder.DecodeFile(Formats("png_2400x2000_itxt.png"), targetShortSide: 224);
        Assert.Equal(2400, png.Width);
    }

    [Fact]
    public void Reduced_jpeg_decoding_changes_the_crop_by_less_than_one_level_on_average()
    {
        string path = MakeLargeJpeg();
        var identity = PixelPreprocessor(CropAlignment.Transformers);
        using RgbImage full = Decoder.DecodeFile(path);
        var watch = Stopwatch.StartNew();
        using RgbImage fullAgain = Decoder.DecodeFile(path);
        double fullMs = watch.Elapsed.TotalMilliseconds;
        watch.Restart();
        using RgbImage reduced = Decoder.DecodeFile(path, targetShortSide: 224);
        double reducedMs = watch.Elapsed.TotalMilliseconds;
        byte[] a = Crop(identity, full), b = Crop(identity, reduced);
        double mean = a.Zip(b, (x, y) => Math.Abs(x - y)).Average();
        int max = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        output.WriteLine($"4000x3000 JPEG: full decode {fullMs:F0} ms, reduced ({reduced.Width}x{reduced.Height}) decode {reducedMs:F0} ms; crop mean abs diff {mean:F3}, max {max}");
        Assert.True(mean < 1.0, $"mean abs diff {mean:F3}");
    }

    /// <summary>A 4000x3000 quality-90 JPEG made from a corpus photo (Skia's encoder; cached in the temp folder).</summary>
    private static string MakeLargeJpeg()
    {
        string path = Path.Combine(Path.GetTempPath(), "omnivec-img-tests-4000x3000-q90.jpg");
        if (File.Exists(path))
        {
            return path;
        }

        using var source = SKBitmap.Decode(Photos("hubble_deep_field.jpg"));
        using var large = source.Resize(new SKImageInfo(4000, 3000), new SKSamplingOptions(SKCubicResampler.Mitchell));
        using var image = SKImage.FromBitmap(large);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        string temp = path + "." + Guid.NewGuid().ToString("N");
        File.WriteAllBytes(temp, data.ToArray());
        File.Move(temp, path, overwrite: true);
        return path;
    }
}
