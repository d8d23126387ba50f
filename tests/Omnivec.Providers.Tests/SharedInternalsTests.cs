using Omnivec.Tests;

namespace Omnivec.Providers.Tests;

/// <summary>Unit tests of the internals of the shared provider assembly and of each provider.</summary>
public sealed class SharedInternalsTests
{
    [Theory]
    [InlineData("photos/bananas.jpg", "Jpeg", 800, 288)]
    [InlineData("formats/jpeg_progressive_64x128.jpg", "Jpeg", 64, 128)]
    [InlineData("formats/jpeg_extended_16bit_qtables_128.jpg", "Jpeg", 128, 128)]
    [InlineData("formats/exif_orientation_portrait_6.jpg", "Jpeg", 1800, 1200)]
    [InlineData("formats/jpeg_mpo_stereo_640x480.mpo", "Jpeg", 640, 480)]
    [InlineData("formats/png_rgb_8bit.png", "Png", 32, 32)]
    [InlineData("formats/png_rgba_8bit_transparent.png", "Png", 200, 150)]
    [InlineData("formats/gif_transparent.gif", "Gif", 200, 150)]
    [InlineData("formats/gif87a_interlaced_64.gif", "Gif", 64, 64)]
    [InlineData("formats/bmp_rgb24_v5header_128.bmp", "Bmp", 128, 128)]
    [InlineData("formats/bmp_pal8_topdown.bmp", "Bmp", 127, 64)]
    [InlineData("formats/bmp_pal8_os2.bmp", "Bmp", 127, 64)]
    [InlineData("formats/webp_lossy_128.webp", "WebP", 128, 128)]
    [InlineData("formats/webp_lossless_16x16.webp", "WebP", 16, 16)]
    [InlineData("formats/webp_lossless_alpha_1000x307.webp", "WebP", 1000, 307)]
    [InlineData("formats/webp_lossy_exif_480x360.webp", "WebP", 480, 360)]
    [InlineData("formats/webp_animated_lossless_42frames.webp", "WebP", 245, 245)]
    public void Header_reader_gets_format_and_size_of_real_files(string file, string formatName, int width, int height)
    {
        ImageFormat format = Enum.Parse<ImageFormat>(formatName);
        byte[] bytes = File.ReadAllBytes(TestPaths.CorpusFile(["images", .. file.Split('/')]));
        Assert.Equal((format, width, height), ImageHeader.Identify(bytes));
    }

    [Fact]
    public void Header_reader_survives_every_malformed_corpus_file()
    {
        foreach (string path in Directory.GetFiles(TestPaths.CorpusFile("images", "malformed")))
        {
            byte[] bytes = File.ReadAllBytes(path);
            (ImageFormat _, int w, int h) = ImageHeader.Identify(bytes);
            Assert.True(w >= 0 && h >= 0, path);
            for (int cut = 0; cut < Math.Min(bytes.Length, 64); cut++)
            {
                ImageHeader.Identify(bytes.AsSpan(0, cut)); // must not throw on truncation
            }
        }
    }

    [Theory]
    [InlineData("a red bicycle", 3)]
    [InlineData("a red bicycle.", 4)]
    [InlineData("antidisestablishmentarianism", 4)]
    [InlineData("東京タワー", 5)]
    public void Token_estimate_counts_word_pieces(string text, int expected) =>
        Assert.Equal(expected, Google.TextTokenEstimate.Estimate(text));

    [Fact]
    public void Word_count_follows_whitespace() =>
        Assert.Equal([0, 1, 3, 70], new[] { "", "one", "  two\twords\nhere ", string.Join("  ", Enumerable.Repeat("w", 70)) }.Select(Azure.AzureVisionEmbeddingGenerator.CountWords));
}
