using System.Buffers.Binary;
using Omnivec.Imaging;
using static Omnivec.Imaging.Tests.ImageTestHelpers;

namespace Omnivec.Imaging.Tests;

public class PixelLimitTests
{
    /// <summary>A real PNG with its IHDR rewritten (and CRC fixed) to declare another size.</summary>
    internal static byte[] PngDeclaring(int width, int height)
    {
        byte[] png = File.ReadAllBytes(Formats("png_rgb_8bit.png"));
        // Signature (8) + length (4) + "IHDR" (4), then width and height.
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    /// <summary>A real JPEG with its SOF0 dimensions rewritten.</summary>
    internal static byte[] JpegDeclaring(int width, int height)
    {
        byte[] jpeg = File.ReadAllBytes(Formats("jpeg_baseline_444_100x100.jpg"));
        // Walk the segments: an EXIF thumbnail inside APP1 has its own SOF0 that must not be patched.
        int sof = 2;
        while (jpeg[sof + 1] != 0xC0)
        {
            sof += 2 + (jpeg[sof + 2] << 8 | jpeg[sof + 3]);
        }

        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), (ushort)width);
        return jpeg;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpeg")]
    public void Header_declaring_20000_by_20000_is_refused_before_allocation(string kind)
    {
        byte[] data = kind == "png" ? PngDeclaring(20000, 20000) : JpegDeclaring(20000, 20000);
        Assert.Equal((20000, 20000), (Decoder.Identify(data).Width, Decoder.Identify(data).Height));
        // First throw warms up exception machinery (stack trace metadata), which allocates by itself.
        Assert.Throws<ImageTooLargeException>(() => Decoder.Decode(data, "big." + kind));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ImageTooLargeException>(() => Decoder.Decode(data, "big." + kind));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal((20000L, 20000L, 100_000_000L), (error.Width, error.Height, error.MaxPixels));
        Assert.Equal(ImageErrorKind.TooLarge, error.Kind);
        Assert.Contains("big." + kind, error.Message);
        Assert.True(allocated < 256 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Pixel_limit_is_configurable_for_every_decoder()
    {
        var strict = new ImageDecoder(new ImageDecoderOptions { MaxPixels = 128 * 128 - 1 });
        Assert.Throws<ImageTooLargeException>(() => strict.DecodeFile(Formats("jpeg_grayscale_128.jpg")));  // Skia
        Assert.Throws<ImageTooLargeException>(() => strict.DecodeFile(Formats("heic_128.heif")));           // Magick.NET
        Assert.Throws<ImageTooLargeException>(() => strict.DecodeFile(Formats("tiff_rgb_lzw_128.tif")));
        using RgbImage small = strict.DecodeFile(Formats("jpeg_progressive_64x128.jpg"));                 // 8192 pixels
        Assert.Equal(64, small.Width);
        using RgbImage exact = new ImageDecoder(new ImageDecoderOptions { MaxPixels = 128 * 128 }).DecodeFile(Formats("qoi_128.qoi"));
        Assert.Equal(128, exact.Height);
    }

    [Fact]
    public void Byte_limit_applies_to_spans_and_files()
    {
        var tiny = new ImageDecoder(new ImageDecoderOptions { MaxBytes = 100 });
        var e1 = Assert.Throws<ImageDecodeException>(() => tiny.DecodeFile(Formats("png_rgb_8bit.png")));
        var e2 = Assert.Throws<ImageDecodeException>(() => tiny.Decode(File.ReadAllBytes(Formats("png_rgb_8bit.png"))));
        Assert.Equal(ImageErrorKind.TooLarge, e1.Kind);
        Assert.Equal(ImageErrorKind.TooLarge, e2.Kind);
    }

    [Fact]
    public void Empty_and_unknown_inputs_have_their_own_kinds()
    {
        Assert.Equal(ImageErrorKind.Empty, Assert.Throws<ImageDecodeException>(() => Decoder.Decode([])).Kind);
        Assert.Throws<UnsupportedImageFormatException>(() => Decoder.Decode("hello, world, this is text"u8, "notes.txt"));
        Assert.Throws<UnsupportedImageFormatException>(() => Decoder.Identify([0x00, 0x01, 0x02]));
        // SVG is text that ImageMagick could render (with external references): never sniffed, never decoded.
        Assert.Throws<UnsupportedImageFormatException>(() => Decoder.Decode("<svg xmlns='http://www.w3.org/2000/svg'/>"u8));
    }

    [Fact]
    public void Cancellation_is_honoured()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => Decoder.DecodeFile(Formats("png_2400x2000_itxt.png"), cancellationToken: cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => Decoder.DecodeFile(Formats("heic_128.heif"), cancellationToken: cts.Token));
    }

    [Theory]
    [InlineData("Tga")]
    [InlineData("Qoi")]
    [InlineData("Tiff")]
    public void Magick_gets_an_explicit_format_and_never_guesses_from_content(string claimed)
    {
        // A valid PNG handed to ImageMagick as another format must fail in that format's coder, not be sniffed and decoded:
        // this is what keeps arbitrary ImageMagick coders (SVG, MSL, text, ...) out of reach of untrusted bytes.
        byte[] png = File.ReadAllBytes(Formats("png_rgb_8bit.png"));
        Assert.Throws<CorruptImageException>(() => MagickImageDecoder.Decode(png, Enum.Parse<ImageFormat>(claimed), "x", 100_000_000, default));
    }

    [Theory]
    [InlineData("II*\0", "Tiff")]
    [InlineData("MM\0+", "BigTiff")]
    [InlineData("8BPS", "Psd")]
    [InlineData("qoif", "Qoi")]
    [InlineData("P6\n", "Pnm")]
    [InlineData("GIF89a", "Gif")]
    [InlineData("<?xml", "Unknown")]
    [InlineData("P9\n", "Unknown")]
    public void Sniffer_recognises_magic_bytes(string magic, string expected)
    {
        byte[] data = new byte[64];
        System.Text.Encoding.Latin1.GetBytes(System.Text.RegularExpressions.Regex.Unescape(magic)).CopyTo(data, 0);
        Assert.Equal(Enum.Parse<ImageFormat>(expected), ImageHeader.Sniff(data));
    }
}
