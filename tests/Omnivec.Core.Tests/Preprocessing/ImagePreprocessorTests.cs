using Omnivec.Preprocessing;

namespace Omnivec.Core.Tests.Preprocessing;

public class ImagePreprocessorTests
{
    private static readonly ImagePreprocessorSettings s_clip = new() { ShortestEdge = 224, CropWidth = 224, CropHeight = 224 };

    [Theory]
    [InlineData(2048, 1536, 298, 224)] // int(224 * 2048 / 1536) = 298
    [InlineData(1536, 2048, 224, 298)]
    [InlineData(456, 123, 830, 224)]   // 830.44 truncated
    [InlineData(224, 224, 224, 224)]
    [InlineData(100, 75, 298, 224)]    // upscale: 298.67 truncated
    public void Resized_size_follows_python_int_truncation(int w, int h, int rw, int rh)
    {
        Assert.Equal((rw, rh), new ImagePreprocessor(s_clip).ResizedSize(w, h));
    }

    [Fact]
    public void Tensor_is_planar_and_normalised_with_the_configured_mean_and_std()
    {
        var settings = s_clip with { ShortestEdge = 4, CropWidth = 4, CropHeight = 4, Mean = [0.5f, 0.25f, 0f], Std = [0.5f, 0.25f, 1f] };
        var p = new ImagePreprocessor(settings);
        using var image = RgbImage.Allocate(4, 4);
        for (int i = 0; i < 16; i++)
        {
            image.Pixels[i * 3] = 255;
            image.Pixels[i * 3 + 1] = 0;
            image.Pixels[i * 3 + 2] = 51;
        }

        var tensor = new float[p.TensorLength];
        p.Preprocess(image, tensor);
        Assert.Equal(48, p.TensorLength);
        Assert.All(tensor.AsSpan(0, 16).ToArray(), v => Assert.Equal(1f, v, 6));        // (1 - 0.5) / 0.5
        Assert.All(tensor.AsSpan(16, 16).ToArray(), v => Assert.Equal(-1f, v, 6));      // (0 - 0.25) / 0.25
        Assert.All(tensor.AsSpan(32, 16).ToArray(), v => Assert.Equal(0.2f, v, 6));     // 51 / 255
    }

    [Fact]
    public void Crop_larger_than_the_image_pads_with_zero_pixels()
    {
        var settings = new ImagePreprocessorSettings { Resize = false, CropWidth = 6, CropHeight = 2, Rescale = false, Normalize = false };
        var p = new ImagePreprocessor(settings);
        using var image = RgbImage.Allocate(3, 2);
        image.Pixels.Fill(200);
        var rgb = new byte[6 * 2 * 3];
        p.ResizeAndCrop(image, rgb);
        // transformers places the 3-wide image ceil(3/2) = 2 pixels from the left.
        for (int x = 0; x < 6; x++)
        {
            Assert.Equal(x is >= 2 and < 5 ? 200 : 0, rgb[x * 3]);
        }
    }

    [Fact]
    public void Destination_too_small_is_rejected()
    {
        var p = new ImagePreprocessor(s_clip);
        using var image = RgbImage.Allocate(10, 10);
        Assert.Throws<ArgumentException>(() => p.Preprocess(image, new float[100]));
    }

    [Fact]
    public void Target_short_side_is_the_resize_target()
    {
        Assert.Equal(224, new ImagePreprocessor(s_clip).TargetShortSide);
        Assert.Equal(0, new ImagePreprocessor(s_clip with { Resize = false }).TargetShortSide);
    }

    [Fact]
    public void Preprocessing_allocates_nothing_proportional_to_the_image()
    {
        var p = new ImagePreprocessor(s_clip);
        using RgbImage image = PillowResizeTests.Synthetic(2048, 1536);
        var tensor = new float[p.TensorLength];
        p.Preprocess(image, tensor); // warm the pools
        long before = GC.GetAllocatedBytesForCurrentThread();
        p.Preprocess(image, tensor);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 16 * 1024, $"allocated {allocated} bytes");
    }
}
