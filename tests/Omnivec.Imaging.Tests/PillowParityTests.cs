using System.Text.Json;
using Omnivec.Imaging;
using Omnivec.Preprocessing;
using Omnivec.Tests;
using Xunit.Abstractions;
using static Omnivec.Imaging.Tests.ImageTestHelpers;

namespace Omnivec.Imaging.Tests;

/// <summary>
/// Decode with <see cref="ImageDecoder"/> (full size) + our resize/crop, against Pillow 9.4 / torchvision 0.14 crops
/// (tests/fixtures/pillow, made by tools/make_pillow_references.py).
/// </summary>
public class PillowParityTests(ITestOutputHelper output)
{
    private static readonly string s_dir = Path.Combine(TestPaths.Fixtures, "pillow");

    public sealed record Entry(string Name, string Kind, string Source, string Hf, string Tv);

    private static List<Entry> Entries()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_dir, "index.json")));
        return doc.RootElement.GetProperty("entries").EnumerateArray()
            .Select(e => new Entry(e.GetProperty("name").GetString()!, e.GetProperty("kind").GetString()!,
                e.GetProperty("source").GetString()!, e.GetProperty("hf").GetString()!, e.GetProperty("tv").GetString()!))
            .ToList();
    }

    public static TheoryData<string> Names() => new(Entries().Select(e => e.Name));

    private static (int MaxDiff, int DifferingValues) Compare(ReadOnlySpan<byte> ours, ReadOnlySpan<byte> pillow)
    {
        int max = 0, count = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            int d = Math.Abs(ours[i] - pillow[i]);
            max = Math.Max(max, d);
            count += d != 0 ? 1 : 0;
        }

        return (max, count);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Crop_matches_pillow(string name)
    {
        Entry entry = Entries().Single(e => e.Name == name);
        using RgbImage source = Decoder.DecodeFile(Path.Combine(TestPaths.Corpus, entry.Source));
        foreach ((CropAlignment alignment, string file) in new[] { (CropAlignment.Transformers, entry.Hf), (CropAlignment.TorchVision, entry.Tv) })
        {
            using RgbImage reference = Decoder.DecodeFile(Path.Combine(s_dir, file));
            Assert.Equal((224, 224), (reference.Width, reference.Height));
            byte[] ours = Crop(PixelPreprocessor(alignment), source);
            (int max, int differing) = Compare(ours, reference.Pixels);
            output.WriteLine($"{name} {alignment}: max diff {max}, {differing} of {ours.Length} values differ");
            // Photos (JPEG via libjpeg-turbo in both, PNG lossless) must match to one level; formats whose decoders
            // legitimately differ (CMYK, 16-bit reduction, WebP/GIF details) are held to a looser bound.
            int allowed = entry.Kind == "photo" ? 1 : MaxDiffForFormat(entry.Name);
            Assert.True(max <= allowed, $"{name} {alignment}: max diff {max} > {allowed} ({differing} values differ)");
        }
    }

    private static int MaxDiffForFormat(string name) => name switch
    {
        // Pillow 9.4 opens 16-bit grayscale PNG as mode "I" and convert("RGB") clips the 0..65535 values at 255, so its
        // reference is saturated white; we reduce 16 to 8 bits like libpng (and Pillow's own 16-bit RGB path). Kept as a
        // fixture so the divergence stays documented; any other format must match to one level.
        "fmt_png_gray_16bit" => 255,
        _ => 1,
    };

    [Fact]
    public void Summary_over_all_photos()
    {
        int photos = 0, maxDiff = 0;
        long differing = 0, total = 0;
        foreach (Entry entry in Entries().Where(e => e.Kind == "photo"))
        {
            using RgbImage source = Decoder.DecodeFile(Path.Combine(TestPaths.Corpus, entry.Source));
            using RgbImage reference = Decoder.DecodeFile(Path.Combine(s_dir, entry.Hf));
            (int max, int count) = Compare(Crop(PixelPreprocessor(CropAlignment.Transformers), source), reference.Pixels);
            photos++;
            maxDiff = Math.Max(maxDiff, max);
            differing += count;
            total += reference.Pixels.Length;
        }

        output.WriteLine($"{photos} photos: max abs diff {maxDiff}, {differing} of {total} uint8 values differ from Pillow");
        Assert.Equal(TestPaths.CorpusPhotos().Length, photos); // the references cover every corpus photo
        Assert.True(maxDiff <= 1);
    }

    [Theory]
    [InlineData(CropAlignment.Transformers)]
    [InlineData(CropAlignment.TorchVision)]
    public void Float_tensor_matches_the_normalised_reference(CropAlignment alignment)
    {
        float[] mean = [0.48145466f, 0.4578275f, 0.40821073f], std = [0.26862954f, 0.26130258f, 0.27577711f];
        var clip = new ImagePreprocessor(new ImagePreprocessorSettings
        {
            ShortestEdge = 224, CropWidth = 224, CropHeight = 224, Mean = mean, Std = std, Alignment = alignment,
        });
        var tensor = new float[clip.TensorLength];
        int checkedValues = 0;
        foreach (Entry entry in Entries().Where(e => e.Kind == "photo").Take(12))
        {
            using RgbImage source = Decoder.DecodeFile(Path.Combine(TestPaths.Corpus, entry.Source));
            using RgbImage reference = Decoder.DecodeFile(Path.Combine(s_dir, alignment == CropAlignment.Transformers ? entry.Hf : entry.Tv));
            byte[] ours = Crop(PixelPreprocessor(alignment), source);
            clip.Preprocess(source, tensor);
            ReadOnlySpan<byte> px = reference.Pixels;
            for (int i = 0; i < 224 * 224; i++)
            {
                for (int c = 0; c < 3; c++)
                {
                    if (ours[i * 3 + c] != px[i * 3 + c])
                    {
                        continue; // a one-level pixel difference is reported by Crop_matches_pillow
                    }

                    // torchvision: ToTensor (x / 255 in float32), then (x - mean) / std in float32.
                    float expected = (px[i * 3 + c] / 255f - mean[c]) / std[c];
                    Assert.True(Math.Abs(tensor[c * 224 * 224 + i] - expected) <= 1e-5f, $"{entry.Name} [{c},{i}]: {tensor[c * 224 * 224 + i]} vs {expected}");
                    checkedValues++;
                }
            }
        }

        Assert.True(checkedValues > 12 * 224 * 224 * 3 * 0.99);
    }
}
