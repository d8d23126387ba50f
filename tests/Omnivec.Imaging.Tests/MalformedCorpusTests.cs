using System.Diagnostics;
using Omnivec.Imaging;
using Xunit.Abstractions;
using static Omnivec.Imaging.Tests.ImageTestHelpers;

namespace Omnivec.Imaging.Tests;

/// <summary>
/// Every broken or hostile file gives a typed error or, where the data is actually usable, a correct decode, quickly and
/// without allocating anything near the declared size.
/// Policy: truncated images are errors (Skia's IncompleteInput, and progressive JPEGs missing their end marker), as in
/// Pillow without LOAD_TRUNCATED_IMAGES; a half-grey picture embedded silently is worse than a refusal. Files whose pixel
/// data is complete decode even when something around it is off (junk between markers, bad EXIF/MPO blocks, trailing
/// chunks, a missing IEND after the last image row, RLE overruns the BMP decoder clips).
/// </summary>
public class MalformedCorpusTests(ITestOutputHelper output)
{
    private const string Decodes = "decodes";

    private static readonly Dictionary<string, (string Outcome, int W, int H)> s_expected = new()
    {
        ["bmp_bad_bitcount.bmp"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["bmp_bad_rle.bmp"] = (Decodes, 127, 64),                 // invalid RLE codes end the bitmap early; ImageMagick decodes it too
        ["bmp_declares_3000000x2000000.bmp"] = (nameof(ImageErrorKind.Corrupt), 0, 0), // Skia refuses the header outright
        ["bmp_garbage_header_57bytes.bmp"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["bmp_negative_width.bmp"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["bmp_pal8_bad_index.bmp"] = (Decodes, 127, 64),          // out-of-palette indices read as black (Skia); the image is otherwise whole
        ["bmp_rle8_row_overflow.bmp"] = (Decodes, 128, 128),      // overrunning rows are clipped; ImageMagick decodes it too
        ["bmp_short_file.bmp"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["ext_lie_jpeg_named_png.png"] = (Decodes, 128, 128),     // formats are sniffed from bytes, never from names
        ["ext_lie_png_named_jpg.jpg"] = (Decodes, 128, 128),
        ["ext_lie_webp_named_jpg.jpg"] = (Decodes, 128, 128),
        ["gif_bomb_frame_65535x1321.gif"] = (nameof(ImageErrorKind.TooLarge), 0, 0),
        ["gif_frame_offset_65535.gif"] = (Decodes, 100, 100),     // only frame 0 is decoded; the hostile frame 1 is never touched
        ["gif_zero_width.gif"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["ico_dib_declares_65535x65535.ico"] = (nameof(ImageErrorKind.TooLarge), 0, 0),
        ["ico_directory_size_mismatch.ico"] = (Decodes, 16, 16),  // the embedded bitmap's own size wins
        ["jpeg_bad_mpo_header.jpg"] = (Decodes, 640, 480),
        ["jpeg_corrupt_exif.jpg"] = (Decodes, 500, 500),
        ["jpeg_junk_bytes_in_header.jpg"] = (Decodes, 1024, 768),
        ["jpeg_truncated_400bytes.jpg"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["jpeg_truncated_progressive_100x100.jpg"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["jpeg_truncated_ultrahdr_1512x2688.jpg"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_bad_signature_byte1.png"] = (nameof(ImageErrorKind.UnsupportedFormat), 0, 0), // no longer a PNG signature
        ["png_bit_depth_0.png"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_idat_after_image_end.png"] = (Decodes, 128, 128),
        ["png_idat_crc_error.png"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_ihdr_crc_error.png"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_ihdr_missing.png"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_invalid_color_type_1.png"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_invalid_row_filter.png"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_no_idat.png"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_signature_cr_added.png"] = (nameof(ImageErrorKind.UnsupportedFormat), 0, 0),
        ["png_text_mode_mangled.png"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_truncated_idat.png"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_truncated_last_chunk.png"] = (Decodes, 128, 128),   // every image row is present; only the final CRC/IEND are cut
        ["png_unexpected_eof.png"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["png_ztxt_decompression_bomb.png"] = (Decodes, 1, 1),    // Skia skips text chunks, so the zTXt bomb is never inflated
        ["tiff_oom_88bytes.tif"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["tiff_seek_too_large_16bytes.tif"] = (nameof(ImageErrorKind.Corrupt), 0, 0),
        ["zero_length.jpg"] = (nameof(ImageErrorKind.Empty), 0, 0),
    };

    public static TheoryData<string> Files() => new(IndexEntries("malformed"));

    [Theory]
    [MemberData(nameof(Files))]
    public void Malformed_file_gives_its_expected_outcome_quickly_and_in_bounded_memory(string name)
    {
        Assert.True(s_expected.TryGetValue(name, out var expected), $"{name} is in INDEX.tsv but has no expected outcome here");
        byte[] data = File.ReadAllBytes(Malformed(name));
        Decoder.Decode(File.ReadAllBytes(Formats("png_rgb_8bit.png"))).Dispose(); // warm up so JIT and pools don't count
        long declaredPixels = 0;
        try
        {
            ImageInfo header = Decoder.Identify(data, name);
            declaredPixels = (long)header.Width * header.Height;
        }
        catch (ImageDecodeException)
        {
            // Identify raises only typed errors; the header is then unusable and nothing image-sized may be allocated.
        }

        // A decode within the pixel limit may use one RGBA buffer plus the RGB result (7 bytes a pixel, up to 14 once the
        // pool rounds rentals up to a power of two); anything refused
        // for size must allocate almost nothing.
        long allowed = expected.Outcome == nameof(ImageErrorKind.TooLarge) ? 256 * 1024 : 14 * Math.Min(declaredPixels, 100_000_000) + (2 << 20);

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        string outcome;
        (int W, int H) size = (0, 0);
        try
        {
            using RgbImage image = Decoder.Decode(data, name);
            outcome = Decodes;
            size = (image.Width, image.Height);
        }
        catch (ImageDecodeException e)
        {
            outcome = e.Kind.ToString();
            output.WriteLine($"{e.GetType().Name}: {e.Message}");
        }

        watch.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        output.WriteLine($"{name}: {outcome} {size.W}x{size.H} in {watch.ElapsedMilliseconds} ms, {allocated / 1024} KiB managed");

        Assert.Equal(expected.Outcome, outcome);
        Assert.Equal((expected.W, expected.H), size);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.True(allocated <= allowed, $"allocated {allocated} bytes, allowed {allowed}");
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Expected_table_covers_exactly_the_index()
    {
        Assert.Equal(s_expected.Keys.Order(StringComparer.Ordinal), IndexEntries("malformed").Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("gif_bomb_frame_65535x1321.gif")]
    [InlineData("ico_dib_declares_65535x65535.ico")]
    public void Bombs_are_refused_from_the_header_without_allocating(string name)
    {
        byte[] data = File.ReadAllBytes(Malformed(name));
        Assert.Throws<ImageTooLargeException>(() => Decoder.Decode(data, name)); // warm-up: first throw allocates metadata
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ImageTooLargeException>(() => Decoder.Decode(data, name));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(error.Width * error.Height > 100_000_000);
        Assert.True(allocated < 256 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Random_garbage_and_mutated_files_only_ever_raise_typed_errors()
    {
        var random = new Random(42);
        string[] seeds = ["jpeg_progressive_64x128.jpg", "png_interlaced_rgba.png", "gif87a_interlaced_64.gif", "webp_lossy_128.webp", "bmp_pal8_rle.bmp", "tiff_rgb_lzw_128.tif", "qoi_128.qoi"];
        int decoded = 0, refused = 0;
        foreach (string seed in seeds)
        {
            byte[] original = File.ReadAllBytes(Formats(seed));
            for (int i = 0; i < 40; i++)
            {
                byte[] mutated = (byte[])original.Clone();
                int flips = random.Next(1, 12);
                for (int f = 0; f < flips; f++)
                {
                    mutated[random.Next(Math.Min(mutated.Length, 16), mutated.Length)] = (byte)random.Next(256);
                }

                int length = random.Next(2) == 0 ? mutated.Length : random.Next(1, mutated.Length);
                try
                {
                    using RgbImage image = Decoder.Decode(mutated.AsSpan(0, length), seed);
                    decoded++;
                }
                catch (ImageDecodeException)
                {
                    refused++;
                }
            }
        }

        output.WriteLine($"mutated inputs: {decoded} decoded, {refused} refused with typed errors");
        Assert.Equal(seeds.Length * 40, decoded + refused);
    }
}
