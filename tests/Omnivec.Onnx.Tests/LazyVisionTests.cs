using Microsoft.Extensions.AI;
using Omnivec.Onnx;
using Omnivec.Tests;

namespace Omnivec.Onnx.Tests;

/// <summary>The image tower loads on the first image: text-only work never pays for it, and a broken file is still a typed error.</summary>
public sealed class LazyVisionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("omnivec-lazy-").FullName;

    public LazyVisionTests()
    {
        foreach (string file in Directory.GetFiles(ReferenceData.HfModel, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(_dir, Path.GetRelativePath(ReferenceData.HfModel, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Photo(string name) => TestPaths.CorpusFile("images", "photos", name);

    [Fact]
    public void Texts_do_not_load_the_image_tower_and_the_first_image_does()
    {
        using ClipEmbeddingGenerator lazy = ClipEmbeddingGenerator.Load(_dir);
        using ClipEmbeddingGenerator eager = ClipEmbeddingGenerator.Load(_dir, new ClipModelOptions { LoadVisionOnFirstUse = false });
        Assert.True(eager.IsVisionLoaded);

        _ = lazy.EmbedTexts(["a dog on the beach"]);
        Assert.False(lazy.IsVisionLoaded);
        Assert.Equal(eager.Dimensions, lazy.Dimensions);

        float[] fromLazy = lazy.EmbedImageFiles([Photo("two_beagles.jpg")])[0].Embedding!.Vector.ToArray();
        Assert.True(lazy.IsVisionLoaded);
        Assert.Equal(eager.EmbedImageFiles([Photo("two_beagles.jpg")])[0].Embedding!.Vector.ToArray(), fromLazy);
    }

    [Fact]
    public async Task A_broken_image_tower_is_a_model_error_not_one_failure_per_image()
    {
        File.WriteAllBytes(Path.Combine(_dir, "onnx", "vision_model.onnx"), "not an onnx model"u8.ToArray());

        var eager = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(_dir, new ClipModelOptions { LoadVisionOnFirstUse = false }));
        Assert.Contains("vision_model.onnx", eager.Message, StringComparison.Ordinal);

        using ClipEmbeddingGenerator lazy = ClipEmbeddingGenerator.Load(_dir);
        Assert.Single(lazy.EmbedTexts(["texts still work"]));
        Assert.Throws<ModelConfigurationException>(() => lazy.EmbedImageFiles([Photo("two_beagles.jpg"), Photo("bananas.jpg")]));
        // The batch helper used by the indexer and the CLI must stop on it, not report every file as bad.
        IEmbeddingGenerator<DataContent, Embedding<float>> images = lazy;
        DataContent[] contents = [new(File.ReadAllBytes(Photo("two_beagles.jpg")), "image/jpeg"), new(File.ReadAllBytes(Photo("bananas.jpg")), "image/jpeg")];
        await Assert.ThrowsAsync<ModelConfigurationException>(() => images.GenerateEachAsync(contents));
        Assert.False(lazy.IsVisionLoaded);
    }
}
