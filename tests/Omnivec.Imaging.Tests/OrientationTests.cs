using Omnivec.Imaging;
using Xunit.Abstractions;
using static Omnivec.Imaging.Tests.ImageTestHelpers;

namespace Omnivec.Imaging.Tests;

public class OrientationTests(ITestOutputHelper output)
{
    public static TheoryData<string, int> JpegOrientations()
    {
        var data = new TheoryData<string, int>();
        foreach (string shape in new[] { "landscape", "portrait" })
        {
            for (int o = 0; o <= 8; o++)
            {
                data.Add(shape, o);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(JpegOrientations))]
    public void Exif_oriented_jpegs_come_out_upright(string shape, int orientation)
    {
        using RgbImage reference = Decoder.DecodeFile(Formats($"exif_orientation_{shape}_1.jpg"));
        using RgbImage image = Decoder.DecodeFile(Formats($"exif_orientation_{shape}_{orientation}.jpg"));
        Assert.Equal((reference.Width, reference.Height), (image.Width, image.Height));
        double diff = MeanAbsDiff(reference, image);
        output.WriteLine($"{shape} {orientation}: mean abs diff to orientation 1 = {diff:F2}");
        // Same photo, re-encoded with a different digit drawn on it: small differences only. A wrong flip or
        // rotation of a photo gives tens of levels (checked below).
        Assert.True(diff < 6, $"mean abs diff {diff:F2}");
    }

    [Fact]
    public void A_wrong_orientation_would_be_detected_by_that_threshold()
    {
        using RgbImage reference = Decoder.DecodeFile(Formats("exif_orientation_landscape_1.jpg"));
        using RgbImage flipped = RgbImage.Allocate(reference.Width, reference.Height);
        int stride = reference.Stride;
        for (int y = 0; y < reference.Height; y++)
        {
            reference.Pixels.Slice(y * stride, stride).CopyTo(flipped.Pixels.Slice((reference.Height - 1 - y) * stride, stride));
        }

        Assert.True(MeanAbsDiff(reference, flipped) > 12);
    }

    [Fact]
    public void Two_by_one_jpeg_with_orientation_8_is_one_by_two()
    {
        byte[] data = File.ReadAllBytes(Formats("jpeg_2x1_orientation8.jpg"));
        Assert.Equal(8, Decoder.Identify(data).Orientation);
        using RgbImage image = Decoder.Decode(data);
        Assert.Equal((1, 2), (image.Width, image.Height));
    }

    [Fact]
    public void Webp_exif_orientation_is_applied()
    {
        // All seven files show the same upright portrait once their orientation (2-8) is applied.
        using RgbImage first = Decoder.DecodeFile(Formats("webp_exif_orientation_2.webp"));
        for (int o = 2; o <= 8; o++)
        {
            byte[] data = File.ReadAllBytes(Formats($"webp_exif_orientation_{o}.webp"));
            Assert.Equal(o, Decoder.Identify(data).Orientation);
            using RgbImage image = Decoder.Decode(data);
            double diff = MeanAbsDiff(first, image);
            output.WriteLine($"webp {o}: mean abs diff to 2 = {diff:F2}");
            Assert.True(diff < 6, $"orientation {o}: mean abs diff {diff:F2}");
        }
    }

    [Fact]
    public void Exif_parser_survives_garbage()
    {
        var random = new Random(1234);
        var buffer = new byte[300];
        for (int i = 0; i < 2000; i++)
        {
            random.NextBytes(buffer);
            "II*\0"u8.CopyTo(buffer);
            int o = ExifOrientationReader.FromTiff(buffer.AsSpan(0, random.Next(buffer.Length)));
            Assert.InRange(o, 1, 8);
            "RIFF"u8.CopyTo(buffer);
            "WEBP"u8.CopyTo(buffer.AsSpan(8));
            Assert.InRange(ExifOrientationReader.FromWebP(buffer), 1, 8);
        }
    }
}
