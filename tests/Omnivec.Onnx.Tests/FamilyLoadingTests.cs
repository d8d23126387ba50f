using Omnivec.Models;
using Omnivec.Tests;
using Omnivec.Text;

namespace Omnivec.Onnx.Tests;

/// <summary>Family detection, SigLIP probabilities, and the clear errors a broken pack gets before any work starts.</summary>
[Collection(ModelCollection.Name)]
public sealed class FamilyLoadingTests(ModelFixture models) : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-family-").FullName;

    public void Dispose() => Directory.Delete(_temp, true);

    private string CopyPack(string source)
    {
        string target = Path.Combine(_temp, Path.GetFileName(source));
        foreach (string file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }

        return target;
    }

    [Fact]
    public void SigLIP_probabilities_use_logit_scale_and_bias_read_from_the_combined_graph()
    {
        FamilyReference reference = FamilyReference.Load("tiny-siglip.json");
        SigmoidScoreCalibration calibration = Assert.IsType<SigmoidScoreCalibration>(models.Siglip.GetService(typeof(SigmoidScoreCalibration)));
        Assert.Equal(reference.LogitScale!.Value, calibration.LogitScale, 6);
        Assert.Equal(reference.LogitBias!.Value, calibration.LogitBias, 6);

        double cosine = 0.2;
        double expected = 1 / (1 + Math.Exp(-(Math.Exp(reference.LogitScale.Value) * cosine + reference.LogitBias.Value)));
        Assert.Equal(expected, calibration.Probability(cosine), 9);

        // CLIP and M-CLIP are softmax-trained: no per-pair probability.
        Assert.Null(models.Hf.GetService(typeof(SigmoidScoreCalibration)));
        Assert.Null(models.Mclip.GetService(typeof(SigmoidScoreCalibration)));
    }

    [Fact]
    public void A_SigLIP_pack_without_the_combined_graph_still_embeds_without_probabilities()
    {
        string pack = CopyPack(ModelFixture.SiglipModel);
        File.Delete(Path.Combine(pack, "onnx", "model.onnx"));
        using var model = ClipEmbeddingGenerator.Load(pack);
        Assert.Null(model.Calibration);
        Assert.Equal(models.Siglip.EmbedTexts(["a dog"])[0], model.EmbedTexts(["a dog"])[0]);
    }

    [Fact]
    public void SigLIP_text_is_never_trimmed_to_the_longest_text_because_its_tower_pools_the_last_position()
    {
        using var untrimmed = ClipEmbeddingGenerator.Load(ModelFixture.SiglipModel, new ClipModelOptions { TrimTextPadding = false });
        float[] a = models.Siglip.EmbedTexts(["a dog"])[0];
        Assert.Equal(untrimmed.EmbedTexts(["a dog"])[0], a);
    }

    [Fact]
    public void An_unknown_model_type_is_refused_before_any_model_is_loaded()
    {
        string pack = CopyPack(ModelFixture.SiglipModel);
        File.WriteAllText(Path.Combine(pack, "config.json"), """{"model_type": "blip"}""");
        var error = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
        Assert.Contains("model_type \"blip\"", error.Message);
        Assert.Contains("siglip", error.Message);
    }

    [Fact]
    public void SigLIP_2_NaFlex_packs_are_refused_with_the_fixed_resolution_alternative_named()
    {
        string pack = CopyPack(ModelFixture.Siglip2Model);
        File.WriteAllText(Path.Combine(pack, "config.json"), """{"model_type": "siglip2"}""");
        var error = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
        Assert.Contains("SigLIP 2 NaFlex", error.Message);
        Assert.Contains("fixed-resolution", error.Message);
    }

    [Fact]
    public void SigLIP_2_uses_Gemma_rules_case_folded_but_punctuation_and_spaces_kept_and_probabilities_from_its_graph()
    {
        // The tokenizer class decides the rules: the same text differs between SigLIP's and Gemma's clean-up.
        Assert.Equal(SentencePieceScheme.Gemma, Assert.IsType<SentencePieceTextTokenizer>(models.Siglip2.Tokenizer).Scheme);
        Assert.Equal(SentencePieceScheme.Siglip, Assert.IsType<SentencePieceTextTokenizer>(models.Siglip.Tokenizer).Scheme);
        Assert.Equal(SentencePieceScheme.Gemma, SentencePieceTextTokenizer.FromDirectory(ModelFixture.Siglip2Model, SentencePieceScheme.Siglip).Scheme);
        Assert.Equal(64, models.Siglip2.Tokenizer.ContextLength); // tokenizer_config.json has transformers' huge sentinel
        Assert.NotEqual(models.Siglip2.EmbedTexts(["a dog, a cat"])[0], models.Siglip2.EmbedTexts(["a dog a cat"])[0]);
        Assert.Equal(models.Siglip2.EmbedTexts(["A DOG"])[0], models.Siglip2.EmbedTexts(["a dog"])[0]);

        FamilyReference reference = FamilyReference.Load("tiny-siglip2.json");
        SigmoidScoreCalibration calibration = Assert.IsType<SigmoidScoreCalibration>(models.Siglip2.GetService(typeof(SigmoidScoreCalibration)));
        Assert.Equal(reference.LogitScale!.Value, calibration.LogitScale, 5);
        Assert.Equal(reference.LogitBias!.Value, calibration.LogitBias, 5);
    }

    [Fact]
    public void An_unknown_Immich_tokenizer_class_is_refused()
    {
        string pack = CopyPack(ModelFixture.MclipModel);
        File.WriteAllText(Path.Combine(pack, "textual", "tokenizer_config.json"), """{"tokenizer_class": "BertTokenizer"}""");
        var error = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
        Assert.Contains("BertTokenizer", error.Message);
    }

    [Fact]
    public void A_missing_SentencePiece_file_is_named()
    {
        string pack = CopyPack(ModelFixture.MclipModel);
        File.Delete(Path.Combine(pack, "textual", "sentencepiece.bpe.model"));
        var error = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
        Assert.Contains("sentencepiece.bpe.model", error.Message);
    }

    [Fact]
    public void A_corrupt_SentencePiece_file_is_a_configuration_error()
    {
        string pack = CopyPack(ModelFixture.SiglipModel);
        File.WriteAllBytes(Path.Combine(pack, "spiece.model"), [0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2]);
        Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
    }

    [Fact]
    public void Weights_in_one_external_data_file_load_and_a_truncated_or_missing_file_is_reported_before_loading()
    {
        string pack = CopyPack(ModelFixture.SiglipModel);
        string external = Path.Combine(TestPaths.Fixtures, "models", "external-data", "siglip");
        File.Copy(Path.Combine(external, "text_model.onnx"), Path.Combine(pack, "onnx", "text_model.onnx"), overwrite: true);
        string data = Path.Combine(pack, "onnx", "text_model.onnx_data");
        File.Copy(Path.Combine(external, "text_model.onnx_data"), data);
        Assert.True(new FileInfo(Path.Combine(pack, "onnx", "text_model.onnx")).Length * 4 < new FileInfo(data).Length, "the graph should hold no weights");
        using (var model = ClipEmbeddingGenerator.Load(pack))
        {
            Assert.True(VectorMath.Cosine(models.Siglip.EmbedTexts(["a dog"])[0], model.EmbedTexts(["a dog"])[0]) > 0.999999f);
        }

        byte[] bytes = File.ReadAllBytes(data);
        File.WriteAllBytes(data, bytes[..(bytes.Length / 2)]);
        var truncated = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
        Assert.Contains("truncated", truncated.Message);

        File.Delete(data);
        var missing = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
        Assert.Contains("text_model.onnx_data", missing.Message);
        Assert.Contains("missing", missing.Message);
    }

    [Fact]
    public void Weights_in_one_file_per_tensor_load_and_a_missing_one_is_named()
    {
        string pack = CopyPack(ModelFixture.MclipModel);
        string textual = Path.Combine(pack, "textual");
        foreach (string file in Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "models", "external-data", "mclip")))
        {
            File.Copy(file, Path.Combine(textual, Path.GetFileName(file)), overwrite: true);
        }

        using (var model = ClipEmbeddingGenerator.Load(pack))
        {
            Assert.True(VectorMath.Cosine(models.Mclip.EmbedTexts(["ein Hund am Strand"])[0], model.EmbedTexts(["ein Hund am Strand"])[0]) > 0.999999f);
        }

        File.Delete(Path.Combine(textual, "weight_03"));
        var missing = Assert.Throws<ModelConfigurationException>(() => ClipEmbeddingGenerator.Load(pack));
        Assert.Contains("weight_03", missing.Message);
    }

    [Fact]
    public void Families_are_read_from_the_files_of_each_layout()
    {
        Assert.Equal(ModelFamily.Clip, ModelFamilyDetector.Detect(ReferenceData.HfModel, ClipModelLayout.SelectFromDirectory(ReferenceData.HfModel)));
        Assert.Equal(ModelFamily.Clip, ModelFamilyDetector.Detect(ReferenceData.ImmichModel, ClipModelLayout.SelectFromDirectory(ReferenceData.ImmichModel)));
        Assert.Equal(ModelFamily.Siglip, ModelFamilyDetector.Detect(ModelFixture.SiglipModel, ClipModelLayout.SelectFromDirectory(ModelFixture.SiglipModel)));
        Assert.Equal(ModelFamily.MClip, ModelFamilyDetector.Detect(ModelFixture.MclipModel, ClipModelLayout.SelectFromDirectory(ModelFixture.MclipModel)));
        Assert.NotEqual(models.Siglip.Space.Family, models.Hf.Space.Family);
        Assert.False(models.Siglip.Space.IsCompatibleWith(models.Siglip.Space with { Family = "clip" }));
    }
}
