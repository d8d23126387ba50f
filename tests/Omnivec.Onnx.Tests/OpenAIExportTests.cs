using System.Text.Json;
using Omnivec.Tests;
using Xunit.Abstractions;

namespace Omnivec.Onnx.Tests;

/// <summary>
/// A text tower exported the way OpenAI CLIP's own code does: <c>input_ids</c> has a dynamic sequence axis, but the
/// graph adds a fixed 77-position embedding, so it runs only on the full context (tools/make_test_models.py,
/// tiny-clip-openai-text). Trimming texts to their length must be detected as impossible and the texts must still
/// come out equal to the PyTorch reference.
/// </summary>
public sealed class OpenAIExportTests(ITestOutputHelper output)
{
    private static readonly string s_textModel = Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-openai-text", "onnx", "text_model.onnx");

    /// <summary>The tiny CLIP (Transformers.js layout) with its text tower replaced by the OpenAI-style export.</summary>
    internal static string MakeModel()
    {
        string dir = Directory.CreateTempSubdirectory("omnivec-openai-export-").FullName;
        foreach (string file in Directory.GetFiles(ReferenceData.HfModel, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(dir, Path.GetRelativePath(ReferenceData.HfModel, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        File.Copy(s_textModel, Path.Combine(dir, "onnx", "text_model.onnx"), overwrite: true);
        return dir;
    }

    private static (string Text, float[] Embedding)[] Reference()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "reference", "tiny-clip-openai-text.json")));
        return doc.RootElement.GetProperty("texts").EnumerateArray()
            .Select(t => (t.GetProperty("text").GetString()!, t.GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray()))
            .ToArray();
    }

    [Fact]
    public void Texts_embed_equal_to_the_reference_although_the_graph_cannot_be_trimmed()
    {
        string dir = MakeModel();
        try
        {
            using var model = ClipEmbeddingGenerator.Load(dir);
            Assert.False(model.TrimsTextPadding, "the load-time probe must find that this graph only runs on 77 tokens");
            (string Text, float[] Embedding)[] reference = Reference();
            Assert.True(reference.Length >= 20);

            // One batch of texts of every length, then each text alone (where trimming would cut the most).
            float[][] batch = model.EmbedTexts(reference.Select(r => r.Text).ToArray());
            float min = 1f;
            for (int i = 0; i < reference.Length; i++)
            {
                float alone = VectorMath.Cosine(model.EmbedTexts([reference[i].Text])[0], reference[i].Embedding);
                float together = VectorMath.Cosine(batch[i], reference[i].Embedding);
                min = Math.Min(min, Math.Min(alone, together));
                Assert.True(alone >= 0.9999999f && together >= 0.9999999f, $"'{reference[i].Text}': cosine {alone} alone, {together} in a batch");
            }

            output.WriteLine($"{reference.Length} texts, minimum cosine {min:F7}");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Well_formed_exports_keep_trimming_and_the_option_turns_it_off()
    {
        using var hf = ClipEmbeddingGenerator.Load(ReferenceData.HfModel);
        Assert.True(hf.TrimsTextPadding);
        using var untrimmed = ClipEmbeddingGenerator.Load(ReferenceData.HfModel, new ClipModelOptions { TrimTextPadding = false });
        Assert.False(untrimmed.TrimsTextPadding);
        using var immich = ClipEmbeddingGenerator.Load(ReferenceData.ImmichModel); // fixed [1, 77]: nothing to trim
        Assert.False(immich.TrimsTextPadding);
        Assert.Equal(hf.EmbedTexts(["a dog on the beach"])[0], untrimmed.EmbedTexts(["a dog on the beach"])[0], new ToleranceComparer(1e-5f));
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
