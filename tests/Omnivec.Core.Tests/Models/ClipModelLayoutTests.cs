using Omnivec.Models;

namespace Omnivec.Core.Tests.Models;

public class ClipModelLayoutTests
{
    // File list of Xenova/clip-vit-base-patch32 (trimmed to what matters).
    private static readonly string[] s_xenova =
    [
        ".gitattributes", "README.md", "config.json", "merges.txt", "preprocessor_config.json", "quantize_config.json",
        "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
        "onnx/model.onnx", "onnx/model_fp16.onnx", "onnx/model_quantized.onnx",
        "onnx/text_model.onnx", "onnx/text_model_fp16.onnx", "onnx/text_model_quantized.onnx", "onnx/text_model_bnb4.onnx",
        "onnx/vision_model.onnx", "onnx/vision_model_fp16.onnx", "onnx/vision_model_quantized.onnx", "onnx/vision_model_q4.onnx",
    ];

    // File list of immich-app/ViT-B-32__openai (trimmed).
    private static readonly string[] s_immich =
    [
        ".gitattributes", "README.md", "config.json",
        "textual/model.onnx", "textual/tokenizer.json", "textual/tokenizer_config.json", "textual/vocab.json",
        "textual/merges.txt", "textual/special_tokens_map.json", "textual/armnn/model.armnn", "textual/fp16/model.armnn",
        "visual/model.onnx", "visual/preprocess_cfg.json", "visual/armnn/model.armnn", "visual/rknpu/rk3588/model.rknn",
    ];

    [Theory]
    [InlineData(ModelVariant.Fp32, "onnx/text_model.onnx", "onnx/vision_model.onnx")]
    [InlineData(ModelVariant.Fp16, "onnx/text_model_fp16.onnx", "onnx/vision_model_fp16.onnx")]
    [InlineData(ModelVariant.Quantized, "onnx/text_model_quantized.onnx", "onnx/vision_model_quantized.onnx")]
    public void Transformers_js_layout_picks_the_variant_pair(ModelVariant variant, string text, string vision)
    {
        ClipModelFiles files = ClipModelLayout.Select(s_xenova, variant);
        Assert.Equal(ClipLayoutKind.TransformersJs, files.Kind);
        Assert.Equal(text, files.TextModel);
        Assert.Equal(vision, files.VisionModel);
        Assert.Equal(
            ["config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"],
            files.SupportFiles);
        Assert.DoesNotContain("onnx/model.onnx", files.AllFiles);
        Assert.Equal(text, files.AllFiles.Reverse().Skip(1).First());
    }

    [Fact]
    public void Only_present_support_files_are_listed_and_external_data_next_to_the_chosen_models_is_included()
    {
        string[] list =
        [
            "onnx/text_model.onnx", "onnx/vision_model.onnx", "onnx/vision_model.onnx_data", "onnx/vision_model.onnx_data_1",
            "onnx/text_model.onnx.data", "onnx/text_model_fp16.onnx", "onnx/vision_model_fp16.onnx", "onnx/vision_model_fp16.onnx_data",
            "tokenizer.json", "preprocessor_config.json",
        ];
        ClipModelFiles files = ClipModelLayout.Select(list);
        Assert.Equal(
            ["preprocessor_config.json", "tokenizer.json", "onnx/text_model.onnx.data", "onnx/vision_model.onnx_data", "onnx/vision_model.onnx_data_1"],
            files.SupportFiles);
    }

    [Fact]
    public void Immich_layout_ignores_hardware_specific_folders()
    {
        ClipModelFiles files = ClipModelLayout.Select(s_immich);
        Assert.Equal(ClipLayoutKind.Immich, files.Kind);
        Assert.Equal("textual/model.onnx", files.TextModel);
        Assert.Equal("visual/model.onnx", files.VisionModel);
        Assert.Equal(
            ["config.json", "visual/preprocess_cfg.json", "textual/tokenizer.json", "textual/tokenizer_config.json",
             "textual/vocab.json", "textual/merges.txt", "textual/special_tokens_map.json"],
            files.SupportFiles);
        Assert.DoesNotContain(files.AllFiles, f => f.Contains("armnn", StringComparison.Ordinal) || f.Contains("rknpu", StringComparison.Ordinal));
    }

    [Fact]
    public void Immich_layout_refuses_other_variants()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => ClipModelLayout.Select(s_immich, ModelVariant.Fp16));
        Assert.Contains("Immich", error.Message);
        Assert.Contains("fp32", error.Message);
    }

    [Fact]
    public void Missing_variant_lists_the_variants_that_exist()
    {
        string[] list = ["onnx/text_model.onnx", "onnx/vision_model.onnx", "onnx/text_model_quantized.onnx", "onnx/vision_model_quantized.onnx", "onnx/text_model_fp16.onnx"];
        var error = Assert.Throws<ModelConfigurationException>(() => ClipModelLayout.Select(list, ModelVariant.Fp16));
        Assert.Contains("fp16", error.Message);
        Assert.Contains("variants available: fp32, quantized", error.Message);
        Assert.Equal([ModelVariant.Fp32, ModelVariant.Quantized], ClipModelLayout.AvailableVariants(list));
    }

    [Fact]
    public void Clap_packs_select_the_audio_and_text_graphs_and_only_the_files_they_need()
    {
        string[] repo =
        [
            ".gitattributes", "README.md", "config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
            "merges.txt", "special_tokens_map.json", "onnx/model.onnx", "onnx/model_quantized.onnx", "onnx/audio_model.onnx",
            "onnx/audio_model_fp16.onnx", "onnx/audio_model_quantized.onnx", "onnx/text_model.onnx", "onnx/text_model_fp16.onnx",
            "onnx/text_model_quantized.onnx",
        ];
        ClipModelFiles files = ClipModelLayout.Select(repo, ModelVariant.Quantized);
        Assert.Equal(ClipLayoutKind.TransformersJsAudio, files.Kind);
        Assert.Equal("onnx/text_model_quantized.onnx", files.TextModel);
        Assert.Equal("onnx/audio_model_quantized.onnx", files.VisionModel);
        Assert.DoesNotContain(files.AllFiles, f => f.Contains("model.onnx", StringComparison.Ordinal) && !f.Contains("quantized", StringComparison.Ordinal));
        Assert.Contains("preprocessor_config.json", files.SupportFiles);
        Assert.Contains("merges.txt", files.SupportFiles);
        Assert.DoesNotContain("README.md", files.AllFiles);
        Assert.Equal([ModelVariant.Fp32, ModelVariant.Fp16, ModelVariant.Quantized], ClipModelLayout.AvailableVariants(repo));
    }

    [Fact]
    public void Unknown_layout_names_both_expected_layouts()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => ClipModelLayout.Select(["model.onnx", "config.json"]));
        Assert.Contains("onnx/text_model.onnx + onnx/vision_model.onnx (Transformers.js layout)", error.Message);
        Assert.Contains("textual/model.onnx + visual/model.onnx (Immich layout)", error.Message);
        Assert.Contains("model.onnx", error.Message);
    }

    [Fact]
    public void Half_a_layout_says_what_was_found()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => ClipModelLayout.Select(["onnx/text_model.onnx", "tokenizer.json"]));
        Assert.Contains("found only onnx/text_model.onnx", error.Message);
    }

    [Fact]
    public void Backslashes_and_dot_prefixes_are_normalized()
    {
        ClipModelFiles files = ClipModelLayout.Select([@"onnx\text_model.onnx", "./onnx/vision_model.onnx", "./config.json"]);
        Assert.Equal("onnx/text_model.onnx", files.TextModel);
        Assert.Equal(["config.json"], files.SupportFiles);
    }

    [Fact]
    public void SelectFromDirectory_reads_the_folder_and_skips_dot_folders()
    {
        string dir = Path.Combine(Path.GetTempPath(), "omnivec-layout-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (string f in new[] { "textual/model.onnx", "visual/model.onnx", "visual/preprocess_cfg.json", ".git/onnx/text_model.onnx", ".git/onnx/vision_model.onnx" })
            {
                string path = Path.Combine(dir, f);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, "x");
            }

            ClipModelFiles files = ClipModelLayout.SelectFromDirectory(dir);
            Assert.Equal(ClipLayoutKind.Immich, files.Kind);
            Assert.Equal(["visual/preprocess_cfg.json"], files.SupportFiles);
            Assert.Throws<ModelConfigurationException>(() => ClipModelLayout.SelectFromDirectory(Path.Combine(dir, "nope")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("fp32", ModelVariant.Fp32)]
    [InlineData("FP16", ModelVariant.Fp16)]
    [InlineData("half", ModelVariant.Fp16)]
    [InlineData("quantized", ModelVariant.Quantized)]
    [InlineData("q8", ModelVariant.Quantized)]
    [InlineData(" int8 ", ModelVariant.Quantized)]
    public void ParseVariant_accepts_common_names(string text, ModelVariant expected) =>
        Assert.Equal(expected, ClipModelLayout.ParseVariant(text));

    [Fact]
    public void ParseVariant_rejects_unknown_names()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => ClipModelLayout.ParseVariant("q4"));
        Assert.Contains("fp32, fp16 or quantized", error.Message);
    }

    [Fact]
    public void SentencePiece_files_and_per_tensor_weights_beside_an_Immich_graph_are_part_of_the_pack()
    {
        string[] mclip =
        [
            "config.json", "textual/model.onnx", "textual/sentencepiece.bpe.model", "textual/tokenizer_config.json",
            "textual/embeddings.word_embeddings.weight", "textual/onnx__MatMul_1234", "textual/armnn/model.armnn",
            "visual/model.onnx", "visual/preprocess_cfg.json", "visual/rknpu/rk3588/model.rknn", "visual/model.rknn",
        ];
        ClipModelFiles files = ClipModelLayout.Select(mclip);
        Assert.Contains("textual/sentencepiece.bpe.model", files.SupportFiles);
        Assert.Contains("textual/embeddings.word_embeddings.weight", files.SupportFiles);
        Assert.Contains("textual/onnx__MatMul_1234", files.SupportFiles);
        Assert.DoesNotContain(files.AllFiles, f => f.EndsWith(".armnn", StringComparison.Ordinal) || f.EndsWith(".rknn", StringComparison.Ordinal));
        Assert.Equal(files.AllFiles.Count(), files.AllFiles.Distinct().Count());

        ClipModelFiles siglip = ClipModelLayout.Select(["config.json", "spiece.model", "onnx/text_model.onnx", "onnx/vision_model.onnx", "onnx/model.onnx"]);
        Assert.Contains("spiece.model", siglip.SupportFiles);
    }
}
