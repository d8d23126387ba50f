using System.Text.Json;
using Omnivec.Models;
using Omnivec.Tests;
using Xunit.Abstractions;

namespace Omnivec.Onnx.Tests;

/// <summary>One family's reference (written by a script in tools/): ids and embeddings for texts, embeddings for corpus photos.</summary>
public sealed record FamilyReference(string Name, IReadOnlyList<FamilyText> Texts, IReadOnlyList<FamilyImage> Images, float? LogitScale, float? LogitBias)
{
    /// <summary>Reads tests/fixtures/reference/&lt;file&gt; in the omnivec-family-reference-1 format.</summary>
    public static FamilyReference Load(string file)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "reference", file)));
        JsonElement root = doc.RootElement;
        return new FamilyReference(
            root.GetProperty("family").GetString()!,
            root.GetProperty("texts").EnumerateArray().Select(t => new FamilyText(
                t.GetProperty("text").GetString()!, Ints(t.GetProperty("ids")), Floats(t.GetProperty("embedding")))).ToArray(),
            root.GetProperty("images").EnumerateArray().Select(i => new FamilyImage(
                i.GetProperty("file").GetString()!, Floats(i.GetProperty("embedding")))).ToArray(),
            root.TryGetProperty("logit_scale", out JsonElement s) ? s.GetSingle() : null,
            root.TryGetProperty("logit_bias", out JsonElement b) ? b.GetSingle() : null);
    }

    /// <summary>The CLIP reference (tools/make_test_models.py) seen through the same shape: the HF layout's ids and images.</summary>
    public static FamilyReference ClipHf() => new("clip",
        ReferenceData.Instance.Texts.Select(t => new FamilyText(t.Text, t.IdsHf, t.Embedding)).ToArray(),
        ReferenceData.Instance.Images.Take(12).Select(i => new FamilyImage(i.File, i.Hf)).ToArray(), null, null);

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(x => x.GetSingle()).ToArray();
}

public sealed record FamilyText(string Text, int[] Ids, float[] Embedding);

public sealed record FamilyImage(string File, float[] Embedding)
{
    public string Path => TestPaths.CorpusFile(File.Split('/'));
}

/// <summary>
/// What every model family's test pack must pass: token ids and embeddings equal to the reference (text cosine
/// ≥ 0.99999, images from files ≥ 0.9999), a batch equal to one input at a time whatever else shares it, and bad input
/// failing only itself with a typed error.
/// </summary>
public abstract class FamilyConformanceTests(ITestOutputHelper output)
{
    protected abstract ClipEmbeddingGenerator Model { get; }

    protected abstract FamilyReference Reference { get; }

    protected abstract ModelFamily ExpectedFamily { get; }

    [Fact]
    public void The_family_is_read_from_the_pack_and_recorded_in_the_space()
    {
        Assert.Equal(ExpectedFamily, Model.Family);
        Assert.Equal(ModelFamilyDetector.Name(ExpectedFamily), Model.Space.Family);
        Assert.Equal(Reference.Name, Model.Space.Family);
    }

    [Fact]
    public void Token_ids_equal_the_reference_tokenizer()
    {
        int mismatches = 0;
        foreach (FamilyText text in Reference.Texts)
        {
            int[] ours = Model.Tokenizer.Encode(text.Text);
            if (!ours.SequenceEqual(text.Ids))
            {
                mismatches++;
                output.WriteLine($"'{text.Text}':\n  ours [{string.Join(' ', ours)}]\n  want [{string.Join(' ', text.Ids)}]");
            }
        }

        Assert.True(mismatches == 0, $"{mismatches} of {Reference.Texts.Count} texts tokenized differently");
    }

    [Fact]
    public void Text_embeddings_equal_the_reference()
    {
        float[][] ours = Model.EmbedTexts(Reference.Texts.Select(t => t.Text).ToArray());
        float min = 1f;
        for (int i = 0; i < ours.Length; i++)
        {
            float cosine = VectorMath.Cosine(ours[i], Reference.Texts[i].Embedding);
            min = Math.Min(min, cosine);
            Assert.True(cosine >= 0.99999f, $"text {i} '{Reference.Texts[i].Text}': cosine {cosine}");
        }

        output.WriteLine($"{Reference.Texts.Count} texts, minimum cosine {min:F7}");
    }

    [Fact]
    public void Image_embeddings_from_files_equal_the_reference()
    {
        IReadOnlyList<EmbeddingOutcome> outcomes = Model.EmbedImageFiles(Reference.Images.Select(i => i.Path).ToArray());
        float min = 1f;
        for (int i = 0; i < outcomes.Count; i++)
        {
            Assert.True(outcomes[i].Succeeded, $"{Reference.Images[i].File}: {outcomes[i].Error?.Message}");
            float cosine = VectorMath.Cosine(outcomes[i].Embedding!.Vector.Span, Reference.Images[i].Embedding);
            min = Math.Min(min, cosine);
            Assert.True(cosine >= 0.9999f, $"{Reference.Images[i].File}: cosine {cosine}");
        }

        output.WriteLine($"{outcomes.Count} images, minimum cosine {min:F7}");
    }

    [Fact]
    public void A_batch_equals_one_text_at_a_time_whatever_shares_it()
    {
        string longText = Reference.Texts.MaxBy(t => t.Text.Length)!.Text;
        string[] texts = ["a dog", longText, "", "ein Hund am Strand", "x", "two beagles on a lawn at sunset"];
        float[][] batched = Model.EmbedTexts(texts);
        float[][] reversed = Model.EmbedTexts(texts.Reverse().ToArray());
        for (int i = 0; i < texts.Length; i++)
        {
            float[] single = Model.EmbedTexts([texts[i]])[0];
            Assert.True(VectorMath.Cosine(single, batched[i]) >= 0.99999f, $"'{texts[i]}' in a batch");
            Assert.True(VectorMath.Cosine(single, reversed[texts.Length - 1 - i]) >= 0.99999f, $"'{texts[i]}' in the reversed batch");
        }
    }

    [Fact]
    public void A_batch_of_images_equals_one_image_at_a_time()
    {
        string[] paths = Reference.Images.Take(3).Select(i => i.Path).ToArray();
        IReadOnlyList<EmbeddingOutcome> batched = Model.EmbedImageFiles(paths);
        for (int i = 0; i < paths.Length; i++)
        {
            IReadOnlyList<EmbeddingOutcome> single = Model.EmbedImageFiles([paths[i]]);
            Assert.True(VectorMath.Cosine(single[0].Embedding!.Vector.Span, batched[i].Embedding!.Vector.Span) >= 0.99999f, paths[i]);
        }
    }

    [Fact]
    public void Bad_input_fails_only_itself_with_a_typed_error()
    {
        Assert.Throws<InvalidInputException>(() => Model.EmbedTexts(["ok", null!]));
        string corrupt = Path.Combine(Path.GetTempPath(), $"omnivec-corrupt-{Guid.NewGuid():N}.jpg");
        File.WriteAllBytes(corrupt, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
        try
        {
            IReadOnlyList<EmbeddingOutcome> outcomes = Model.EmbedImageFiles([corrupt, Reference.Images[0].Path, corrupt + ".missing"]);
            Assert.False(outcomes[0].Succeeded);
            Assert.IsAssignableFrom<OmnivecException>(outcomes[0].Error);
            Assert.True(outcomes[1].Succeeded);
            Assert.True(VectorMath.Cosine(outcomes[1].Embedding!.Vector.Span, Reference.Images[0].Embedding) >= 0.9999f);
            Assert.IsType<InvalidInputException>(outcomes[2].Error);
        }
        finally
        {
            File.Delete(corrupt);
        }
    }
}

/// <summary>CLIP (Transformers.js layout) in the conformance suite.</summary>
[Collection(ModelCollection.Name)]
public sealed class ClipConformanceTests(ModelFixture models, ITestOutputHelper output) : FamilyConformanceTests(output)
{
    private static readonly Lazy<FamilyReference> s_reference = new(FamilyReference.ClipHf);

    protected override ClipEmbeddingGenerator Model => models.Hf;

    protected override FamilyReference Reference => s_reference.Value;

    protected override ModelFamily ExpectedFamily => ModelFamily.Clip;
}

/// <summary>SigLIP (Transformers.js layout: tests/fixtures/models/tiny-siglip-hf) in the conformance suite.</summary>
[Collection(ModelCollection.Name)]
public sealed class SiglipConformanceTests(ModelFixture models, ITestOutputHelper output) : FamilyConformanceTests(output)
{
    private static readonly Lazy<FamilyReference> s_reference = new(() => FamilyReference.Load("tiny-siglip.json"));

    protected override ClipEmbeddingGenerator Model => models.Siglip;

    protected override FamilyReference Reference => s_reference.Value;

    protected override ModelFamily ExpectedFamily => ModelFamily.Siglip;
}

/// <summary>
/// SigLIP 2, fixed resolution (Transformers.js layout with Gemma's tokenizer: tests/fixtures/models/tiny-siglip2-hf,
/// made by tools/make_siglip2_test_model.py) in the conformance suite.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class Siglip2ConformanceTests(ModelFixture models, ITestOutputHelper output) : FamilyConformanceTests(output)
{
    private static readonly Lazy<FamilyReference> s_reference = new(() => FamilyReference.Load("tiny-siglip2.json"));

    protected override ClipEmbeddingGenerator Model => models.Siglip2;

    protected override FamilyReference Reference => s_reference.Value;

    protected override ModelFamily ExpectedFamily => ModelFamily.Siglip;
}

/// <summary>M-CLIP (Immich layout, XLM-R text tower: tests/fixtures/models/tiny-mclip-immich) in the conformance suite.</summary>
[Collection(ModelCollection.Name)]
public sealed class MclipConformanceTests(ModelFixture models, ITestOutputHelper output) : FamilyConformanceTests(output)
{
    private static readonly Lazy<FamilyReference> s_reference = new(() => FamilyReference.Load("tiny-mclip.json"));

    protected override ClipEmbeddingGenerator Model => models.Mclip;

    protected override FamilyReference Reference => s_reference.Value;

    protected override ModelFamily ExpectedFamily => ModelFamily.MClip;
}

/// <summary>
/// NLLB-CLIP (Immich layout: tests/fixtures/models/tiny-nllb-clip-immich, made by tools/make_nllb_test_model.py) in the
/// conformance suite; its reference texts carry their FLORES-200 code glued in front, as Immich sends them.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class NllbClipConformanceTests(ModelFixture models, ITestOutputHelper output) : FamilyConformanceTests(output)
{
    private static readonly Lazy<FamilyReference> s_reference = new(() => FamilyReference.Load("tiny-nllb-clip.json"));

    protected override ClipEmbeddingGenerator Model => models.Nllb;

    protected override FamilyReference Reference => s_reference.Value;

    protected override ModelFamily ExpectedFamily => ModelFamily.NllbClip;
}

/// <summary>
/// SigLIP in Immich's layout (tests/fixtures/models/tiny-siglip-immich, made by tools/make_immich_siglip_test_models.py
/// from tiny-siglip-hf's graphs: same weights, `text` int32 [1, 64] in, normalised `embedding` out, only tokenizer.json
/// as tokenizer) against the PyTorch reference of the Transformers.js pack.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class SiglipImmichConformanceTests(ModelFixture models, ITestOutputHelper output) : FamilyConformanceTests(output)
{
    private static readonly Lazy<FamilyReference> s_reference = new(() => FamilyReference.Load("tiny-siglip.json"));

    protected override ClipEmbeddingGenerator Model => models.SiglipImmich;

    protected override FamilyReference Reference => s_reference.Value;

    protected override ModelFamily ExpectedFamily => ModelFamily.Siglip;
}

/// <summary>SigLIP 2 in Immich's layout (tests/fixtures/models/tiny-siglip2-immich) against the Transformers.js pack's PyTorch reference.</summary>
[Collection(ModelCollection.Name)]
public sealed class Siglip2ImmichConformanceTests(ModelFixture models, ITestOutputHelper output) : FamilyConformanceTests(output)
{
    private static readonly Lazy<FamilyReference> s_reference = new(() => FamilyReference.Load("tiny-siglip2.json"));

    protected override ClipEmbeddingGenerator Model => models.Siglip2Immich;

    protected override FamilyReference Reference => s_reference.Value;

    protected override ModelFamily ExpectedFamily => ModelFamily.Siglip;
}
