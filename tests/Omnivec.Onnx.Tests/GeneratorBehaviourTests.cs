using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Omnivec.Tests;

namespace Omnivec.Onnx.Tests;

[Collection(ModelCollection.Name)]
public sealed class GeneratorBehaviourTests(ModelFixture models)
{
    private static string Photo(string name) => TestPaths.CorpusFile("images", "photos", name);

    [Fact]
    public void Capabilities_are_found_through_GetService_behind_a_decorator()
    {
        var decorated = new PassThrough(models.Hf); // not disposed: it would dispose the shared fixture model
        IMultimodalEmbeddingGenerator generator = models.Hf;

        Assert.Same(models.Hf.Tokenizer, decorated.GetService(typeof(Text.ClipTokenizer)));
        Assert.Same(models.Hf.Tokenizer, generator.GetService<Text.ClipTokenizer>());
        Assert.Same(models.Hf, decorated.GetService(typeof(IImageFileEmbedder)));
        Assert.Same(models.Hf, decorated.GetService(typeof(IPerItemImageEmbedder)));
        Assert.Null(decorated.GetService(typeof(Text.ClipTokenizer), serviceKey: "other"));
    }

    /// <summary>A decorator in the Microsoft.Extensions.AI style (like logging or caching): it forwards everything.</summary>
    private sealed class PassThrough(IEmbeddingGenerator<DataContent, Embedding<float>> inner) : DelegatingEmbeddingGenerator<DataContent, Embedding<float>>(inner);

    [Fact]
    public void A_batch_gives_the_same_vectors_as_one_at_a_time()
    {
        string[] texts = ["a cat", "two beagles on a lawn", "", "a rocket launch at night", "bananas", "x", "a b c d", "sea", "sky", "a kitten"];
        float[][] batched = models.Hf.EmbedTexts(texts); // 10 texts over a max batch of 8: two runs
        for (int i = 0; i < texts.Length; i++)
        {
            float[] single = models.Hf.EmbedTexts([texts[i]])[0];
            Assert.True(VectorMath.Cosine(single, batched[i]) > 0.99999f, texts[i]);
        }

        // The Immich export is fixed at batch 1: a list still works, split into single runs.
        float[][] immich = models.Immich.EmbedTexts(texts);
        Assert.Equal(texts.Length, immich.Length);
        Assert.True(VectorMath.Cosine(immich[3], batched[3]) > 0.99999f);
    }

    [Fact]
    public void A_broken_tokenizer_is_reported_while_the_towers_load_beside_it_and_before_a_broken_model()
    {
        // The tokenizer loads on another thread while the text tower loads: its error still wins, as when it loaded first.
        string pack = Directory.CreateTempSubdirectory("omnivec-parallel-load-").FullName;
        try
        {
            foreach (string file in Directory.GetFiles(ReferenceData.HfModel, "*", SearchOption.AllDirectories))
            {
                string target = Path.Combine(pack, Path.GetRelativePath(ReferenceData.HfModel, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            File.WriteAllText(Path.Combine(pack, "vocab.json"), "{\"a\": ");
            var tokenizer = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
            Assert.Contains("vocab.json", tokenizer.Message, StringComparison.Ordinal);

            File.WriteAllBytes(Path.Combine(pack, "onnx", "text_model.onnx"), [1, 2, 3]);
            var both = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
            Assert.Contains("vocab.json", both.Message, StringComparison.Ordinal);

            File.Copy(Path.Combine(ReferenceData.HfModel, "vocab.json"), Path.Combine(pack, "vocab.json"), overwrite: true);
            var model = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
            Assert.Contains("text_model.onnx", model.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(pack, recursive: true);
        }
    }

    [Fact]
    public void Trimming_text_padding_changes_no_vector()
    {
        using var full = ClipEmbeddingGenerator.Load(ReferenceData.HfModel, new ClipModelOptions { TrimTextPadding = false });
        string[] texts = ["a", "a dog on the beach", string.Join(' ', Enumerable.Repeat("word", 120)), "", "<|endoftext|> after the end"];
        float[][] trimmed = models.Hf.EmbedTexts(texts);
        float[][] padded = full.EmbedTexts(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.True(VectorMath.Cosine(trimmed[i], padded[i]) > 0.999999f, texts[i]);
        }
    }

    [Fact]
    public void Concurrent_callers_get_the_same_results_as_sequential_ones()
    {
        string[] paths = [Photo("bananas.jpg"), Photo("two_beagles.jpg"), Photo("astronaut.png"), Photo("hotdog.jpg")];
        float[][] expected = paths.Select(p => models.Hf.EmbedImageFiles([p])[0].Embedding!.Vector.ToArray()).ToArray();
        float[][] expectedText = models.Hf.EmbedTexts(["a dog", "a cat"]);
        Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            if (i % 2 == 0)
            {
                var outcome = models.Hf.EmbedImageFiles([paths[i % paths.Length]])[0];
                Assert.True(VectorMath.Cosine(outcome.Embedding!.Vector.Span, expected[i % paths.Length]) > 0.99999f);
            }
            else
            {
                Assert.True(VectorMath.Cosine(models.Hf.EmbedTexts(["a dog", "a cat"])[1], expectedText[1]) > 0.99999f);
            }
        });
    }

    [Fact]
    public void A_bad_image_fails_alone_with_a_typed_error()
    {
        string missing = Path.Combine(Path.GetTempPath(), "omnivec-no-such-file.jpg");
        string empty = Path.Combine(Path.GetTempPath(), $"omnivec-empty-{Guid.NewGuid():N}.jpg");
        File.WriteAllBytes(empty, []);
        try
        {
            IReadOnlyList<EmbeddingOutcome> outcomes = models.Hf.EmbedImageFiles([Photo("bananas.jpg"), missing, empty, Photo("hotdog.jpg")]);
            Assert.True(outcomes[0].Succeeded);
            Assert.IsType<InvalidInputException>(outcomes[1].Error);
            Assert.Contains("not found", outcomes[1].Error!.Message);
            Assert.IsAssignableFrom<ImageDecodeException>(outcomes[2].Error);
            Assert.True(outcomes[3].Succeeded);
            float[] alone = models.Hf.EmbedImageFiles([Photo("hotdog.jpg")])[0].Embedding!.Vector.ToArray();
            Assert.True(VectorMath.Cosine(alone, outcomes[3].Embedding!.Vector.Span) > 0.99999f);
        }
        finally
        {
            File.Delete(empty);
        }
    }

    [Fact]
    public async Task Works_through_the_Microsoft_Extensions_AI_interfaces()
    {
        IEmbeddingGenerator<string, Embedding<float>> text = models.Hf;
        IEmbeddingGenerator<DataContent, Embedding<float>> image = models.Hf;
        GeneratedEmbeddings<Embedding<float>> t = await text.GenerateAsync(["a photo of bananas", "a photo of a rocket"]);
        GeneratedEmbeddings<Embedding<float>> i = await image.GenerateAsync([new DataContent(await File.ReadAllBytesAsync(Photo("bananas.jpg")), "image/jpeg")]);
        Assert.Equal(2, t.Count);
        Assert.Single(i);
        Assert.Equal(models.Hf.Dimensions, i[0].Vector.Length);
        Assert.Equal(models.Hf.Space.ModelId, t[0].ModelId);

        var metadata = text.GetService<EmbeddingGeneratorMetadata>();
        Assert.NotNull(metadata);
        Assert.Equal(models.Hf.Dimensions, metadata.DefaultModelDimensions);

        var wrongDims = await Assert.ThrowsAsync<InvalidInputException>(() => text.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 7 }));
        Assert.Contains("cannot produce 7", wrongDims.Message);

        var corrupt = new DataContent(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3 }, "image/jpeg");
        await Assert.ThrowsAnyAsync<ImageDecodeException>(() => image.GenerateAsync([corrupt]));
        await Assert.ThrowsAsync<InvalidInputException>(() => image.GenerateAsync([new DataContent(new byte[] { 1 }, "audio/wav")]));
    }

    [Fact]
    public void Dependency_injection_registers_one_shared_model_for_both_modalities()
    {
        var services = new ServiceCollection();
        services.AddClipEmbeddings(o => o.ModelDirectory = ReferenceData.HfModel);
        using ServiceProvider provider = services.BuildServiceProvider();
        var multimodal = provider.GetRequiredService<IMultimodalEmbeddingGenerator>();
        Assert.Same(multimodal, provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Same(multimodal, provider.GetRequiredService<IEmbeddingGenerator<DataContent, Embedding<float>>>());
        Assert.Equal("local", multimodal.Space.Provider);
    }

    [Fact]
    public void A_cancelled_call_stops_with_OperationCanceledException()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => models.Hf.EmbedTexts(["a dog"], cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => models.Hf.EmbedImageFiles([Photo("bananas.jpg"), Photo("hotdog.jpg")], cts.Token));
    }

    [Fact]
    public void A_folder_in_no_known_layout_gets_an_error_naming_what_is_missing()
    {
        string dir = Directory.CreateTempSubdirectory("omnivec-badmodel-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
            var error = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(dir));
            Assert.Contains("text_model.onnx", error.Message);
            Assert.Contains("textual/model.onnx", error.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void The_embedding_space_names_the_model_and_a_stable_revision()
    {
        using var again = ClipEmbeddingGenerator.Load(ReferenceData.HfModel);
        Assert.Equal("tiny-clip-hf", again.Space.ModelId);
        Assert.Equal(models.Hf.Space, again.Space);
        Assert.NotEqual(models.Hf.Space.Revision, models.Immich.Space.Revision);
    }
}
