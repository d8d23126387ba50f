using Omnivec.Imaging;
using Omnivec.Preprocessing;
using Omnivec.Tests;

namespace Omnivec.Imaging.Tests;

internal static class ImageTestHelpers
{
    public static readonly ImageDecoder Decoder = new();

    public static string Formats(string name) => TestPaths.CorpusFile("images", "formats", name);
    public static string Malformed(string name) => TestPaths.CorpusFile("images", "malformed", name);
    public static string Photos(string name) => TestPaths.CorpusFile("images", "photos", name);

    /// <summary>File names listed in a corpus INDEX.tsv (first column).</summary>
    public static IEnumerable<string> IndexEntries(string folder) =>
        File.ReadLines(TestPaths.CorpusFile("images", folder, "INDEX.tsv"))
            .Where(l => l.Length > 0)
            .Select(l => l.Split('\t')[0]);

    /// <summary>Mean absolute difference over all RGB values of two equally sized images.</summary>
    public static double MeanAbsDiff(RgbImage a, RgbImage b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        ReadOnlySpan<byte> x = a.Pixels, y = b.Pixels;
        long sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sum += Math.Abs(x[i] - y[i]);
        }

        return (double)sum / x.Length;
    }

    /// <summary>Identity pipeline: rescale and normalise off, so the float tensor holds the uint8 crop values exactly.</summary>
    public static ImagePreprocessor PixelPreprocessor(CropAlignment alignment, int size = 224) => new(new ImagePreprocessorSettings
    {
        ShortestEdge = size,
        CropWidth = size,
        CropHeight = size,
        Rescale = false,
        Normalize = false,
        Alignment = alignment,
    });

    /// <summary>Resize + crop of <paramref name="image"/> as interleaved uint8 RGB (through the public float path).</summary>
    public static byte[] Crop(ImagePreprocessor identity, RgbImage image)
    {
        var chw = new float[identity.TensorLength];
        identity.Preprocess(image, chw);
        int plane = identity.OutputWidth * identity.OutputHeight;
        var rgb = new byte[plane * 3];
        for (int i = 0; i < plane; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                float v = chw[c * plane + i];
                Assert.True(v == MathF.Round(v) && v is >= 0 and <= 255, "identity preprocessing must give whole byte values");
                rgb[i * 3 + c] = (byte)v;
            }
        }

        return rgb;
    }
}
