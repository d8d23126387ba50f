using Omnivec.Tests;

namespace Omnivec.Onnx.Tests;

/// <summary>
/// ONNX Runtime's optimized form of a model kept on disk (<see cref="OnnxModelOptions.OptimizedModelCacheDirectory"/>):
/// the first load writes it, later loads use it, and the vectors are the reference's either way. A cache that cannot be
/// written or holds a damaged entry only means a load from the model file.
/// </summary>
public sealed class OptimizedModelCacheTests : IDisposable
{
    private readonly string _model = Directory.CreateTempSubdirectory("omnivec-ortcache-model-").FullName;
    private readonly string _cache = Path.Combine(Directory.CreateTempSubdirectory("omnivec-ortcache-").FullName, "onnx");

    public OptimizedModelCacheTests()
    {
        // A copy of the fixture model, so that changing it (a replaced model) touches nothing shared.
        foreach (string file in Directory.GetFiles(ReferenceData.HfModel, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(_model, Path.GetRelativePath(ReferenceData.HfModel, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public void Dispose()
    {
        Directory.Delete(_model, recursive: true);
        Directory.Delete(Path.GetDirectoryName(_cache)!, recursive: true);
    }

    private ClipEmbeddingGenerator Load(string? cache) =>
        ClipEmbeddingGenerator.Load(_model, new ClipModelOptions { OptimizedModelCacheDirectory = cache, MaxBatchSize = 8, Decoder = FullDecode });

    private static string[] Texts => ReferenceData.Instance.Texts.Select(t => t.Text).ToArray();

    /// <summary>Full JPEG decoding, as the references decode (the default reduced decoding is tested in ParityTests).</summary>
    private static Omnivec.Imaging.ImageDecoderOptions FullDecode => new() { ReducedDecodeFactor = 0 };

    private static string[] Photos => ReferenceData.Instance.Images.Select(i => i.Path).ToArray();

    private string[] Entries() => Directory.Exists(_cache) ? Directory.GetDirectories(_cache).Select(d => Path.GetFileName(d)).ToArray() : [];

    private static void AssertReferenceVectors(ClipEmbeddingGenerator model)
    {
        float[][] texts = model.EmbedTexts(Texts);
        for (int i = 0; i < texts.Length; i++)
        {
            double cosine = VectorMath.Cosine(texts[i], ReferenceData.Instance.Texts[i].Embedding);
            Assert.True(cosine >= 0.99999, $"text '{Texts[i]}': cosine {cosine} to the reference");
        }

        IReadOnlyList<EmbeddingOutcome> images = model.EmbedImageFiles(Photos);
        for (int i = 0; i < images.Count; i++)
        {
            double cosine = VectorMath.Cosine(images[i].Embedding!.Vector.Span, ReferenceData.Instance.Images[i].Hf);
            Assert.True(cosine >= 0.9999, $"image {Photos[i]}: cosine {cosine} to the reference");
        }
    }

    [Fact]
    public void The_first_load_writes_each_tower_and_later_loads_use_it_with_the_same_vectors()
    {
        float[][] uncachedTexts;
        float[][] uncachedImages;
        using (ClipEmbeddingGenerator plain = Load(cache: null))
        {
            Assert.Equal(OptimizedModelCache.Outcome.Disabled, plain.CacheOutcomes.Text);
            uncachedTexts = plain.EmbedTexts(Texts);
            uncachedImages = plain.EmbedImageFiles(Photos).Select(o => o.Embedding!.Vector.ToArray()).ToArray();
        }

        using (ClipEmbeddingGenerator first = Load(_cache))
        {
            Assert.Equal(OptimizedModelCache.Outcome.Written, first.CacheOutcomes.Text);
            AssertReferenceVectors(first);
            Assert.Equal(OptimizedModelCache.Outcome.Written, first.CacheOutcomes.Vision);
        }

        string[] entries = Entries();
        Assert.Equal(2, entries.Length); // text and image towers, no temporary folder left behind
        Assert.All(entries, e => Assert.DoesNotContain(".tmp-", e, StringComparison.Ordinal));
        Assert.All(entries, e => Assert.True(File.Exists(Path.Combine(_cache, e, OptimizedModelCache.DataFile)), "weights are kept beside the graph, to be mapped"));

        using ClipEmbeddingGenerator second = Load(_cache);
        Assert.Equal(OptimizedModelCache.Outcome.Hit, second.CacheOutcomes.Text);
        AssertReferenceVectors(second);
        Assert.Equal(OptimizedModelCache.Outcome.Hit, second.CacheOutcomes.Vision);
        float[][] cachedTexts = second.EmbedTexts(Texts);
        float[][] cachedImages = second.EmbedImageFiles(Photos).Select(o => o.Embedding!.Vector.ToArray()).ToArray();
        for (int i = 0; i < cachedTexts.Length; i++)
        {
            Assert.True(VectorMath.Cosine(cachedTexts[i], uncachedTexts[i]) >= 0.999999, $"text {i} differs with the cache");
        }

        for (int i = 0; i < cachedImages.Length; i++)
        {
            Assert.True(VectorMath.Cosine(cachedImages[i], uncachedImages[i]) >= 0.999999, $"image {i} differs with the cache");
        }

        Assert.Equal(entries.Order(), Entries().Order());
    }

    [Fact]
    public void Without_prepacking_the_vectors_are_the_reference_and_the_entry_is_the_same_as_with_it()
    {
        ClipEmbeddingGenerator LoadUnpacked(string? cache) =>
            ClipEmbeddingGenerator.Load(_model, new ClipModelOptions { OptimizedModelCacheDirectory = cache, MaxBatchSize = 8, PrepackWeights = false, Decoder = FullDecode });

        using (ClipEmbeddingGenerator plain = LoadUnpacked(cache: null))
        {
            AssertReferenceVectors(plain);
        }

        // A load that writes the entry keeps the repacked weights in it even though it does not use them itself:
        // the entry is byte for byte as large as one written by a load with prepacking.
        using (ClipEmbeddingGenerator first = LoadUnpacked(_cache))
        {
            Assert.Equal(OptimizedModelCache.Outcome.Written, first.CacheOutcomes.Text);
            AssertReferenceVectors(first);
        }

        string packedCache = Path.Combine(Path.GetDirectoryName(_cache)!, "packed");
        using (ClipEmbeddingGenerator packed = ClipEmbeddingGenerator.Load(_model, new ClipModelOptions { OptimizedModelCacheDirectory = packedCache, MaxBatchSize = 8, Decoder = FullDecode }))
        {
            _ = packed.EmbedImageFiles(Photos.Take(1).ToArray());
        }

        foreach (string entry in Entries())
        {
            Assert.Equal(new FileInfo(Path.Combine(packedCache, entry, OptimizedModelCache.DataFile)).Length,
                new FileInfo(Path.Combine(_cache, entry, OptimizedModelCache.DataFile)).Length);
        }

        using ClipEmbeddingGenerator second = LoadUnpacked(_cache);
        Assert.Equal(OptimizedModelCache.Outcome.Hit, second.CacheOutcomes.Text);
        AssertReferenceVectors(second);
        Assert.Equal(OptimizedModelCache.Outcome.Hit, second.CacheOutcomes.Vision);
    }

    [Fact]
    public void A_cache_folder_that_cannot_be_created_only_means_loading_from_the_model()
    {
        // A file where the folder should be: creating it fails for every user, root included.
        Directory.CreateDirectory(Path.GetDirectoryName(_cache)!);
        File.WriteAllText(_cache, "in the way");
        using ClipEmbeddingGenerator model = Load(_cache);
        Assert.Equal(OptimizedModelCache.Outcome.Unavailable, model.CacheOutcomes.Text);
        AssertReferenceVectors(model);
    }

    [Fact]
    public void A_damaged_entry_is_replaced_and_the_vectors_stay_right()
    {
        using (ClipEmbeddingGenerator first = Load(_cache))
        {
            _ = first.EmbedTexts(["warm"]);
        }

        string entry = Path.Combine(_cache, Assert.Single(Entries()));
        File.WriteAllBytes(Path.Combine(entry, OptimizedModelCache.ModelFile), "not an onnx model"u8.ToArray());

        using (ClipEmbeddingGenerator again = Load(_cache))
        {
            Assert.Equal(OptimizedModelCache.Outcome.Written, again.CacheOutcomes.Text);
            AssertReferenceVectors(again);
        }

        using ClipEmbeddingGenerator third = Load(_cache);
        Assert.Equal(OptimizedModelCache.Outcome.Hit, third.CacheOutcomes.Text);
    }

    [Fact]
    public void A_replaced_model_file_gets_a_new_entry_and_the_old_one_is_removed()
    {
        using (ClipEmbeddingGenerator first = Load(_cache))
        {
            _ = first.EmbedTexts(["warm"]);
        }

        string before = Assert.Single(Entries());
        // Same bytes, new modification time: as after copying a model over the old one.
        File.SetLastWriteTimeUtc(Path.Combine(_model, "onnx", "text_model.onnx"), DateTime.UtcNow.AddMinutes(-5));
        using ClipEmbeddingGenerator second = Load(_cache);
        Assert.Equal(OptimizedModelCache.Outcome.Written, second.CacheOutcomes.Text);
        string after = Assert.Single(Entries());
        Assert.NotEqual(before, after);
    }

    [Fact]
    public void The_trim_probe_verdict_is_kept_in_the_entry_and_used_by_later_loads()
    {
        using (ClipEmbeddingGenerator first = Load(_cache))
        {
            Assert.True(first.TrimsTextPadding);
        }

        string note = Path.Combine(_cache, Assert.Single(Entries()), "trim-probe.note");
        Assert.Equal("exact", File.ReadAllText(note).Trim());

        // A later load takes the verdict from the entry instead of probing: the note decides.
        File.WriteAllText(note, "inexact");
        using (ClipEmbeddingGenerator second = Load(_cache))
        {
            Assert.Equal(OptimizedModelCache.Outcome.Hit, second.CacheOutcomes.Text);
            Assert.False(second.TrimsTextPadding);
            Assert.True(VectorMath.Cosine(second.EmbedTexts([Texts[1]])[0], ReferenceData.Instance.Texts[1].Embedding) >= 0.99999);
        }

        // Anything else in the note means probing again.
        File.WriteAllText(note, "garbage");
        using ClipEmbeddingGenerator third = Load(_cache);
        Assert.True(third.TrimsTextPadding);
    }

    [Fact]
    public void Entries_of_deleted_models_are_removed_when_another_entry_is_written()
    {
        using (ClipEmbeddingGenerator first = Load(_cache))
        {
            _ = first.EmbedTexts(["warm"]);
        }

        string gone = Assert.Single(Entries());
        string other = Directory.CreateTempSubdirectory("omnivec-ortcache-other-").FullName;
        try
        {
            foreach (string file in Directory.GetFiles(_model, "*", SearchOption.AllDirectories))
            {
                string target = Path.Combine(other, Path.GetRelativePath(_model, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            File.Delete(Path.Combine(_model, "onnx", "text_model.onnx"));
            using ClipEmbeddingGenerator second = ClipEmbeddingGenerator.Load(other, new ClipModelOptions { OptimizedModelCacheDirectory = _cache });
            Assert.Equal(OptimizedModelCache.Outcome.Written, second.CacheOutcomes.Text);
            Assert.DoesNotContain(gone, Entries());
            Assert.Single(Entries());
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public async Task Loads_at_the_same_time_each_get_a_working_model_and_one_entry_remains()
    {
        ClipEmbeddingGenerator[] models = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => Load(_cache))));
        try
        {
            foreach (ClipEmbeddingGenerator model in models)
            {
                float[] vector = model.EmbedTexts([Texts[0]])[0];
                Assert.True(VectorMath.Cosine(vector, ReferenceData.Instance.Texts[0].Embedding) >= 0.99999);
            }
        }
        finally
        {
            foreach (ClipEmbeddingGenerator model in models)
            {
                model.Dispose();
            }
        }

        Assert.Single(Entries());
        using ClipEmbeddingGenerator later = Load(_cache);
        Assert.Equal(OptimizedModelCache.Outcome.Hit, later.CacheOutcomes.Text);
    }

    [Fact]
    public void The_default_folder_follows_the_environment()
    {
        static Func<string, string?> Env(params (string Key, string Value)[] values) => key => values.FirstOrDefault(v => v.Key == key).Value;

        Assert.Null(OnnxModelOptions.DefaultCacheDirectory(Env(("OMNIVEC_ONNX_CACHE", "off"), ("OMNIVEC_HOME", "/h"))));
        Assert.Equal("/c", OnnxModelOptions.DefaultCacheDirectory(Env(("OMNIVEC_ONNX_CACHE", "/c"), ("OMNIVEC_HOME", "/h"))));
        Assert.Equal(Path.Combine("/h", "cache", "onnx"), OnnxModelOptions.DefaultCacheDirectory(Env(("OMNIVEC_HOME", "/h"), ("XDG_CACHE_HOME", "/x"))));
        Assert.Equal(Path.Combine("/x", "omnivec", "onnx"), OnnxModelOptions.DefaultCacheDirectory(Env(("XDG_CACHE_HOME", "/x"))));
        Assert.EndsWith(Path.Combine("omnivec", "onnx"), OnnxModelOptions.DefaultCacheDirectory(Env())!, StringComparison.Ordinal);
    }
}
