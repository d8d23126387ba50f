using Omnivec.Imaging;
using Xunit.Abstractions;
using static Omnivec.Imaging.Tests.ImageTestHelpers;

namespace Omnivec.Imaging.Tests;

public class OrientationTests(ITestOutputHelper output)
{
    public static TheoryData<string, int> JpegOrientations()
    {
        var data = new TheoryData<string, int>();
        foreach (string shape in new[] { "portrait" }) // the corpus keeps the portrait set: all nine orientation values
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

    [Theory]
    [InlineData("portrait")]
    public void Every_wrong_orientation_would_fail_that_threshold(string shape)
    {
        // Apply each of the 8 transforms to the upright picture: any two results of equal size differ by far more than
        // the 6-level threshold, so passing the test above means exactly the right transform was applied.
        using RgbImage upright = Decoder.DecodeFile(Formats($"exif_orientation_{shape}_1.jpg"));
        var variants = new List<RgbImage>();
        try
        {
            for (int o = 1; o <= 8; o++)
            {
                (int w, int h) = Orientation.SwapsAxes(o) ? (upright.Height, upright.Width) : (upright.Width, upright.Height);
                RgbImage v = RgbImage.Allocate(w, h);
                variants.Add(v);
                Orientation.CopyUpright(upright.Pixels, upright.Width, upright.Height, 3, o, v, default);
            }

            double smallest = double.MaxValue;
            for (int i = 0; i < 8; i++)
            {
                for (int j = i + 1; j < 8; j++)
                {
                    if (variants[i].Width == variants[j].Width)
                    {
                        smallest = Math.Min(smallest, MeanAbsDiff(variants[i], variants[j]));
                    }
                }
            }

            output.WriteLine($"{shape}: smallest difference between two distinct transforms = {smallest:F2}");
            Assert.True(smallest > 12, $"smallest {smallest:F2}");
        }
        finally
        {
            variants.ForEach(v => v.Dispose());
        }
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
            int o = PhotoMetadata.ReadOrientation(buffer.AsSpan(0, random.Next(buffer.Length)));
            Assert.InRange(o, 1, 8);
            _ = PhotoMetadata.Read(buffer); // must not throw
            "RIFF"u8.CopyTo(buffer);
            "WEBP"u8.CopyTo(buffer.AsSpan(8));
            Assert.InRange(PhotoMetadata.ReadOrientation(buffer), 1, 8);
        }
    }
}
