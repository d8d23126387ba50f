using Omnivec.Tests;

namespace Omnivec.Core.Tests;

/// <summary>The one image-format sniffer, shared by the decoders and the cloud providers.</summary>
public sealed class ImageHeaderTests
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
    [InlineData(ImageFormat.Jpeg, "image/jpeg")]
    [InlineData(ImageFormat.Png, "image/png")]
    [InlineData(ImageFormat.WebP, "image/webp")]
    [InlineData(ImageFormat.Heic, "image/heic")]
    [InlineData(ImageFormat.Tiff, "image/tiff")]
    public void Media_types_round_trip(ImageFormat format, string mediaType)
    {
        Assert.Equal(mediaType, ImageHeader.MediaType(format));
        Assert.Equal(format, ImageHeader.FromMediaType(mediaType + "; charset=binary"));
    }

    [Fact]
    public void Unknown_bytes_and_media_types_stay_unknown()
    {
        Assert.Equal(ImageFormat.Unknown, ImageHeader.Sniff("not an image"u8));
        Assert.Equal((ImageFormat.Unknown, 0, 0), ImageHeader.Identify([]));
        Assert.Equal(ImageFormat.Unknown, ImageHeader.FromMediaType("text/plain"));
        Assert.Null(ImageHeader.MediaType(ImageFormat.Unknown));
    }
}
