using Omnivec.Preprocessing;

namespace Omnivec.Core.Tests.Preprocessing;

public class PreprocessorConfigTests
{
    private const string HfModern = """
        {"crop_size": {"height": 224, "width": 224}, "do_center_crop": true, "do_convert_rgb": true, "do_normalize": true,
         "do_rescale": true, "do_resize": true, "image_mean": [0.48145466, 0.4578275, 0.40821073],
         "image_std": [0.26862954, 0.26130258, 0.27577711], "image_processor_type": "CLIPImageProcessor",
         "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 224}}
        """;

    private const string HfLegacy = """
        {"crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
         "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.25, 0.25],
         "resample": 3, "size": 256}
        """;

    private const string OpenClip = """
        {"size": [336, 336], "mode": "RGB", "mean": [0.48145466, 0.4578275, 0.40821073],
         "std": [0.26862954, 0.26130258, 0.27577711], "interpolation": "bicubic", "resize_mode": "shortest", "fill_color": 0}
        """;

    [Fact]
    public void Modern_hugging_face_config()
    {
        ImagePreprocessor p = ImagePreprocessor.FromJson(HfModern, "preprocessor_config.json");
        ImagePreprocessorSettings s = p.Settings;
        Assert.Equal((224, 224, 224), (s.ShortestEdge, s.CropWidth, s.CropHeight));
        Assert.Equal(CropAlignment.Transformers, s.Alignment);
        Assert.True(s.Resize && s.CenterCrop && s.Rescale && s.Normalize);
        Assert.Equal(1f / 255f, s.RescaleFactor, 7);
        Assert.Equal(0.26130258f, s.Std[1]);
        Assert.Equal((224, 224, 3 * 224 * 224, 224), (p.OutputWidth, p.OutputHeight, p.TensorLength, p.TargetShortSide));
    }

    [Fact]
    public void Legacy_hugging_face_config_with_integer_sizes()
    {
        ImagePreprocessorSettings s = ImagePreprocessor.FromJson(HfLegacy, "preprocessor_config.json").Settings;
        Assert.Equal((256, 224, 224), (s.ShortestEdge, s.CropWidth, s.CropHeight));
        Assert.Equal([0.5f, 0.5f, 0.5f], s.Mean);
    }

    [Fact]
    public void Open_clip_config_uses_torchvision_semantics()
    {
        ImagePreprocessor p = ImagePreprocessor.FromJson(OpenClip, "preprocess_cfg.json");
        Assert.Equal((336, 336, 336), (p.Settings.ShortestEdge, p.OutputWidth, p.OutputHeight));
        Assert.Equal(CropAlignment.TorchVision, p.Settings.Alignment);
        Assert.Equal(1f / 255f, p.Settings.RescaleFactor);
        Assert.Equal(224, ImagePreprocessor.FromJson("""{"size": 224, "mean": [0,0,0], "std": [1,1,1]}""", "preprocess_cfg.json").OutputWidth);
    }

    [Fact]
    public void Siglip_style_exact_size_without_crop()
    {
        ImagePreprocessor p = ImagePreprocessor.FromJson(
            """{"do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5,0.5,0.5], "image_std": [0.5,0.5,0.5], "image_processor_type": "SiglipImageProcessor", "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"height": 256, "width": 256}}""",
            "preprocessor_config.json");
        Assert.False(p.Settings.CenterCrop);
        Assert.Equal((256, 256), (p.OutputWidth, p.OutputHeight));
    }

    [Fact]
    public void Bilinear_and_squash_are_read_from_either_dialect()
    {
        ImagePreprocessor hf = ImagePreprocessor.FromJson(
            """{"image_processor_type": "SiglipImageProcessor", "image_mean": [0.5,0.5,0.5], "image_std": [0.5,0.5,0.5], "resample": 2, "size": {"height": 224, "width": 224}}""",
            "preprocessor_config.json");
        Assert.Equal(ResampleFilter.Bilinear, hf.Settings.Resample);
        ImagePreprocessor immich = ImagePreprocessor.FromJson(
            """{"size": [256, 256], "mean": [0.5,0.5,0.5], "std": [0.5,0.5,0.5], "interpolation": "bilinear", "resize_mode": "squash"}""",
            "preprocess_cfg.json");
        Assert.Equal(ResampleFilter.Bilinear, immich.Settings.Resample);
        Assert.False(immich.Settings.CenterCrop);
        Assert.Equal((256, 256, 0), (immich.Settings.ResizeWidth, immich.Settings.ResizeHeight, immich.Settings.ShortestEdge));
        Assert.Equal((256, 256), (immich.OutputWidth, immich.OutputHeight));
        Assert.Equal(ResampleFilter.Bicubic, ImagePreprocessor.FromJson("""{"size": 224, "mean": [0.5,0.5,0.5], "std": [0.5,0.5,0.5]}""", "preprocess_cfg.json").Settings.Resample);
    }

    [Theory]
    [InlineData("preprocessor_config.json", "\"resample\": 0", "resample", "0")]
    [InlineData("preprocess_cfg.json", "\"interpolation\": \"nearest\"", "interpolation", "nearest")]
    [InlineData("preprocessor_config.json", "\"do_pad\": true", "do_pad", "true")]
    [InlineData("preprocessor_config.json", "\"crop_pct\": 0.875", "crop_pct", "0.875")]
    [InlineData("preprocessor_config.json", "\"size\": {\"longest_edge\": 224}", "size", "longest_edge")]
    [InlineData("preprocessor_config.json", "\"size\": {\"shortest_edge\": 224, \"longest_edge\": 1333}", "size.longest_edge", "1333")]
    [InlineData("preprocessor_config.json", "\"image_processor_type\": \"ConvNextImageProcessor\"", "image_processor_type", "ConvNext")]
    [InlineData("preprocessor_config.json", "\"image_mean\": [0.5, 0.5]", "image_mean", "0.5")]
    [InlineData("preprocess_cfg.json", "\"resize_mode\": \"longest\"", "resize_mode", "longest")]
    [InlineData("preprocess_cfg.json", "\"mode\": \"BGR\"", "mode", "BGR")]
    [InlineData("preprocess_cfg.json", "\"size\": [224, 256]", "size", "256")]
    [InlineData("preprocess_cfg.json", "\"antialias\": false", "antialias", "false")]
    public void Unsupported_values_fail_loudly_naming_key_and_value(string file, string entry, string key, string value)
    {
        string baseJson = file == "preprocess_cfg.json"
            ? """{"size": 224, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]"""
            : """{"size": {"shortest_edge": 224}, "crop_size": 224""";
        var error = Assert.Throws<ModelConfigurationException>(() => ImagePreprocessor.FromJson(baseJson + ", " + entry + "}", file));
        Assert.Contains(key, error.Message);
        Assert.Contains(value, error.Message);
    }

    [Theory]
    [InlineData("{", "preprocessor_config.json")]
    [InlineData("[]", "preprocessor_config.json")]
    [InlineData("""{"do_resize": true, "crop_size": 224}""", "preprocessor_config.json")]
    [InlineData("""{"size": 224}""", "config.json")]
    [InlineData("""{"mean": [0,0,0]}""", "preprocess_cfg.json")]
    [InlineData("""{"size": 224, "crop_size": 224, "image_std": [1, 0, 1]}""", "preprocessor_config.json")]
    public void Broken_configs_are_model_configuration_errors(string json, string file)
    {
        Assert.Throws<ModelConfigurationException>(() => ImagePreprocessor.FromJson(json, file));
    }

    [Fact]
    public void From_directory_finds_either_dialect()
    {
        string root = Path.Combine(Path.GetTempPath(), "omnivec-img-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "hf"));
            File.WriteAllText(Path.Combine(root, "hf", "preprocessor_config.json"), HfModern);
            Directory.CreateDirectory(Path.Combine(root, "immich", "visual"));
            File.WriteAllText(Path.Combine(root, "immich", "visual", "preprocess_cfg.json"), OpenClip);
            Directory.CreateDirectory(Path.Combine(root, "empty"));

            Assert.Equal(CropAlignment.Transformers, ImagePreprocessor.FromDirectory(Path.Combine(root, "hf")).Settings.Alignment);
            Assert.Equal(336, ImagePreprocessor.FromDirectory(Path.Combine(root, "immich")).OutputWidth);
            var error = Assert.Throws<ModelConfigurationException>(() => ImagePreprocessor.FromDirectory(Path.Combine(root, "empty")));
            Assert.Contains("preprocess_cfg.json", error.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
