using System.Text.Json;
using Omnivec.Tests;

namespace Omnivec.Onnx.Tests;

/// <summary>
/// Reference embeddings written by tools/make_test_models.py: the same weights run in PyTorch with the reference
/// tokenizer and Pillow preprocessing. They are the oracle; nothing here is computed by the code under test.
/// </summary>
internal sealed class ReferenceData
{
    private static readonly Lazy<ReferenceData> s_instance = new(Load);

    public static ReferenceData Instance => s_instance.Value;

    public required IReadOnlyList<TextReference> Texts { get; init; }
    public required IReadOnlyList<ImageReference> Images { get; init; }

    public static string HfModel => Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-hf");
    public static string ImmichModel => Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-immich");

    private static ReferenceData Load()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "reference", "tiny-clip.json")));
        JsonElement root = doc.RootElement;
        return new ReferenceData
        {
            Texts = root.GetProperty("texts").EnumerateArray().Select(t => new TextReference(
                t.GetProperty("text").GetString()!,
                Ints(t.GetProperty("ids_openai")),
                Ints(t.GetProperty("ids_hf")),
                Floats(t.GetProperty("embedding")))).ToArray(),
            Images = root.GetProperty("images").EnumerateArray().Select(i => new ImageReference(
                i.GetProperty("file").GetString()!,
                Floats(i.GetProperty("openclip")),
                Floats(i.GetProperty("hf")),
                Floats(i.GetProperty("hf_fp16")))).ToArray(),
        };
    }

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(x => x.GetSingle()).ToArray();
}

internal sealed record TextReference(string Text, int[] IdsOpenAI, int[] IdsHf, float[] Embedding);

internal sealed record ImageReference(string File, float[] OpenClip, float[] Hf, float[] HfFp16)
{
    public string Path => TestPaths.CorpusFile(File.Split('/'));
}
