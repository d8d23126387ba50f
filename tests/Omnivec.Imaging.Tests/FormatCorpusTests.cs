using Omnivec.Imaging;
using Xunit.Abstractions;
using static Omnivec.Imaging.Tests.ImageTestHelpers;

namespace Omnivec.Imaging.Tests;

/// <summary>Every file of images/formats decodes to its upright size (sizes cross-checked with Pillow + exif_transpose, and with heif-info/INDEX notes where Pillow cannot read the file).</summary>
public class FormatCorpusTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, (int W, int H)> s_expected = new()
    {
        ["avif_128.avif"] = (128, 128),
        ["avif_alpha_64.avif"] = (64, 64),
        ["avif_exif_512.avif"] = (512, 512),
        ["avif_irot_imir.avif"] = (640, 427), // irot/imir applied by libheif: stored 427x640
        ["avif_sequence_animated.avifs"] = (159, 159),
        ["bmp_pal1.bmp"] = (127, 64),
        ["bmp_pal4_rle.bmp"] = (127, 64),
        ["bmp_pal4.bmp"] = (127, 64),
        ["bmp_pal8_os2.bmp"] = (127, 64),
        ["bmp_pal8_rle.bmp"] = (127, 64),
        ["bmp_pal8_topdown.bmp"] = (127, 64),
        ["bmp_pal8_v5.bmp"] = (127, 64),
        ["bmp_pal8.bmp"] = (127, 64),
        ["bmp_rgb16_565.bmp"] = (127, 64),
        ["bmp_rgb24_v5header_128.bmp"] = (128, 128),
        ["bmp_rgb24.bmp"] = (127, 64),
        ["bmp_rgb32_bitfields.bmp"] = (127, 64),
        ["bmp_rgb32.bmp"] = (127, 64),
        ["bmp_rgba32.bmp"] = (127, 64),
        ["cur_32x32.cur"] = (32, 32),
        ["exif_orientation_portrait_0.jpg"] = (1200, 1800),
        ["exif_orientation_portrait_1.jpg"] = (1200, 1800),
        ["exif_orientation_portrait_2.jpg"] = (1200, 1800),
        ["exif_orientation_portrait_3.jpg"] = (1200, 1800),
        ["exif_orientation_portrait_4.jpg"] = (1200, 1800),
        ["exif_orientation_portrait_5.jpg"] = (1200, 1800),
        ["exif_orientation_portrait_6.jpg"] = (1200, 1800),
        ["exif_orientation_portrait_7.jpg"] = (1200, 1800),
        ["exif_orientation_portrait_8.jpg"] = (1200, 1800),
        ["gif_animated_31frames.gif"] = (320, 240),
        ["gif_animated_dispose_previous.gif"] = (100, 100),
        ["gif_static_128.gif"] = (128, 128),
        ["gif_transparent.gif"] = (200, 150),
        ["gif87a_interlaced_64.gif"] = (64, 64),
        ["heic_128.heif"] = (128, 128),
        ["ico_16x16_8bit.ico"] = (16, 16),
        ["ico_256x256_24bit.ico"] = (256, 256),
        ["ico_multi_16_32_48.ico"] = (48, 48),          // largest entry, as Pillow picks
        ["ico_multi_png256_plus_dib.ico"] = (256, 256),
        ["jpeg_1x1_gray.jpg"] = (1, 1),
        ["jpeg_2x1_orientation8.jpg"] = (1, 2),
        ["jpeg_baseline_444_100x100.jpg"] = (100, 100),
        ["jpeg_cmyk_ycck_100x100.jpg"] = (100, 100),
        ["jpeg_cmyk_ycck_icc_taco_1500x1000.jpg"] = (1500, 1000),
        ["jpeg_extended_16bit_qtables_128.jpg"] = (128, 128),
        ["jpeg_grayscale_128.jpg"] = (128, 128),
        ["jpeg_mpo_stereo_640x480.mpo"] = (640, 480),
        ["jpeg_progressive_64x128.jpg"] = (64, 128),
        ["jpeg2000_640x480.jp2"] = (640, 480),
        ["png_2400x2000_itxt.png"] = (2400, 2000),
        ["png_apng_animated_20frames.png"] = (100, 100),
        ["png_apng_rgba_16bit.png"] = (128, 64),
        ["png_exif_orientation3.png"] = (512, 512),
        ["png_gray_16bit.png"] = (32, 32),
        ["png_gray_1bit.png"] = (32, 32),
        ["png_gray_8bit.png"] = (32, 32),
        ["png_gray_alpha_8bit.png"] = (32, 32),
        ["png_icc_profile.png"] = (57, 57),
        ["png_interlaced_palette_trns.png"] = (162, 150),
        ["png_interlaced_rgb_16bit.png"] = (32, 32),
        ["png_interlaced_rgb_8bit.png"] = (32, 32),
        ["png_interlaced_rgba.png"] = (162, 150),
        ["png_palette_1bit.png"] = (32, 32),
        ["png_palette_8bit.png"] = (32, 32),
        ["png_palette_trns.png"] = (32, 32),
        ["png_rgb_16bit.png"] = (32, 32),
        ["png_rgb_8bit.png"] = (32, 32),
        ["png_rgb_trns.png"] = (32, 32),
        ["png_rgba_16bit.png"] = (32, 32),
        ["png_rgba_8bit_transparent.png"] = (200, 150),
        ["ppm_binary_128.ppm"] = (128, 128),
        ["psd_128.psd"] = (128, 128),
        ["qoi_128.qoi"] = (128, 128),
        ["tga_rgba_rle_200x32.tga"] = (200, 32),
        ["tiff_bigtiff_128.tif"] = (128, 128),
        ["tiff_g4_1bit_128.tif"] = (128, 128),
        ["tiff_multipage_3.tiff"] = (10, 10),           // first page
        ["tiff_rgb_16bit_deflate.tiff"] = (100, 40),
        ["tiff_rgb_jpeg_128.tif"] = (128, 128),
        ["tiff_rgb_lzw_128.tif"] = (128, 128),
        ["tiff_rgb_uncompressed_128.tif"] = (128, 128),
        ["webp_animated_lossless_42frames.webp"] = (245, 245),
        ["webp_exif_orientation_2.webp"] = (128, 128),
        ["webp_exif_orientation_3.webp"] = (128, 128),
        ["webp_exif_orientation_4.webp"] = (128, 128),
        ["webp_exif_orientation_5.webp"] = (128, 128),
        ["webp_exif_orientation_6.webp"] = (128, 128),
        ["webp_exif_orientation_7.webp"] = (128, 128),
        ["webp_exif_orientation_8.webp"] = (128, 128),
        ["webp_lossless_16x16.webp"] = (16, 16),
        ["webp_lossless_alpha_1000x307.webp"] = (1000, 307),
        ["webp_lossy_128.webp"] = (128, 128),
        ["webp_lossy_alpha_1000x307.webp"] = (1000, 307),
        ["webp_lossy_alpha_200x150.webp"] = (200, 150),
        ["webp_lossy_exif_480x360.webp"] = (480, 360),
    };

    private static readonly HashSet<string> s_skiaFormats = ["jpeg", "png", "gif", "webp", "bmp", "ico"];

    public static TheoryData<string> Files() => new(IndexEntries("formats"));

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_format_file_decodes_upright_with_the_right_size(string name)
    {
        Assert.True(s_expected.TryGetValue(name, out var expected), $"{name} is in INDEX.tsv but has no expected size here");
        byte[] data = File.ReadAllBytes(Formats(name));
        ImageInfo info = Decoder.Identify(data, name);
        using RgbImage image = Decoder.Decode(data, name);
        Assert.Equal(expected, (image.Width, image.Height));
        Assert.Equal(expected, (info.Width, info.Height));
        output.WriteLine($"{name}: {image.Width}x{image.Height} {info.Format} via {(s_skiaFormats.Contains(info.Format) ? "Skia" : "Magick.NET")}, orientation {info.Orientation}, {info.FrameCount} frame(s)");
    }

    [Fact]
    public void Expected_table_covers_exactly_the_index()
    {
        Assert.Equal(s_expected.Keys.Order(StringComparer.Ordinal), IndexEntries("formats").Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("gif_animated_31frames.gif", 31)]
    [InlineData("webp_animated_lossless_42frames.webp", 42)]
    [InlineData("tiff_multipage_3.tiff", 3)]
    [InlineData("jpeg_baseline_444_100x100.jpg", 1)]
    public void Identify_counts_frames_without_decoding_them(string name, int frames)
    {
        Assert.Equal(frames, Decoder.Identify(File.ReadAllBytes(Formats(name)), name).FrameCount);
    }

    [Theory]
    [InlineData("jpeg_grayscale_128.jpg")]
    [InlineData("png_gray_16bit.png")]
    [InlineData("tiff_g4_1bit_128.tif")]
    public void Grayscale_becomes_equal_rgb_channels(string name)
    {
        using RgbImage image = Decoder.DecodeFile(Formats(name));
        ReadOnlySpan<byte> p = image.Pixels;
        bool anyNonBlack = false;
        for (int i = 0; i < p.Length; i += 3)
        {
            Assert.True(p[i] == p[i + 1] && p[i] == p[i + 2], $"pixel {i / 3} is not gray");
            anyNonBlack |= p[i] != 0;
        }

        Assert.True(anyNonBlack);
    }

    [Fact]
    public void Cmyk_jpeg_is_converted_not_inverted()
    {
        // The taco photo is mostly light (plate, table); untreated or inverted CMYK would come out dark.
        using RgbImage image = Decoder.DecodeFile(Formats("jpeg_cmyk_ycck_icc_taco_1500x1000.jpg"));
        double mean = 0;
        foreach (byte b in image.Pixels)
        {
            mean += b;
        }

        mean /= image.Pixels.Length;
        Assert.InRange(mean, 100, 230);
    }

    [Theory]
    [InlineData("tiff_rgb_uncompressed_128.tif", 0.0)]
    [InlineData("tiff_rgb_lzw_128.tif", 0.0)]
    [InlineData("tiff_bigtiff_128.tif", 0.0)]
    [InlineData("ppm_binary_128.ppm", 3.0)]
    [InlineData("psd_128.psd", 3.0)]
    [InlineData("tiff_rgb_jpeg_128.tif", 3.0)]
    public void Magick_decodes_the_same_picture_as_skia(string name, double maxMeanDiff)
    {
        // The 128x128 "hopper" files are one picture in several containers: the lossless TIFFs (Magick.NET) must equal the
        // 24-bit BMP (Skia) exactly; files saved separately (PPM, PSD, JPEG-in-TIFF) differ slightly (measured with Pillow too).
        using RgbImage skia = Decoder.DecodeFile(Formats("bmp_rgb24_v5header_128.bmp"));
        using RgbImage magick = Decoder.DecodeFile(Formats(name));
        double diff = MeanAbsDiff(skia, magick);
        output.WriteLine($"{name}: mean abs diff {diff:F3}");
        Assert.True(diff <= maxMeanDiff, $"{name}: mean abs diff {diff:F3}");
    }
}
