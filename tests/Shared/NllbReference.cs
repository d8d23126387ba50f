using System.Text.Json;

namespace Omnivec.Tests;

/// <summary>
/// The PyTorch reference embeddings of the NLLB-CLIP test pack, as tools/make_nllb_test_model.py wrote them to
/// tests/fixtures/reference/tiny-nllb-clip.json (texts by language and plain text, images by file name).
/// </summary>
internal static class NllbReference
{
    private static readonly Lazy<JsonDocument> s_document = new(() =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "reference", "tiny-nllb-clip.json"))));

    /// <summary>The embedding of <paramref name="plain"/> read in <paramref name="language"/> (a FLORES-200 code).</summary>
    public static float[] Text(string language, string plain) =>
        Vector(s_document.Value.RootElement.GetProperty("texts").EnumerateArray()
            .First(t => t.GetProperty("language").GetString() == language && t.GetProperty("plain").GetString() == plain));

    /// <summary>The embedding of the text exactly as the model read it (its language code glued in front, if any).</summary>
    public static float[] Text(string text) =>
        Vector(s_document.Value.RootElement.GetProperty("texts").EnumerateArray().First(t => t.GetProperty("text").GetString() == text));

    /// <summary>The embedding of the corpus photo named <paramref name="file"/>.</summary>
    public static float[] Image(string file) =>
        Vector(s_document.Value.RootElement.GetProperty("images").EnumerateArray()
            .First(i => i.GetProperty("file").GetString()!.EndsWith("/" + file, StringComparison.Ordinal)));

    private static float[] Vector(JsonElement entry) => entry.GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
}
