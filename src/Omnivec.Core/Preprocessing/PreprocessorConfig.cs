using System.Text.Json;

namespace Omnivec.Preprocessing;

/// <summary>
/// Reads the two preprocessing configuration dialects CLIP models ship with. Every key that changes pixels is either
/// implemented or refused with its name and value: a silently different pipeline gives plausible but wrong vectors.
/// </summary>
internal static class PreprocessorConfig
{
    public const string HuggingFaceFileName = "preprocessor_config.json";
    public const string OpenClipFileName = "preprocess_cfg.json";

    // Keys that carry no pixel semantics (bookkeeping, or the output tensor layout, which is always NCHW float32 here).
    private static readonly HashSet<string> s_ignoredHuggingFaceKeys = new(StringComparer.Ordinal)
    {
        "image_processor_type", "feature_extractor_type", "processor_class", "do_convert_rgb", "_valid_processor_keys",
        "return_tensors", "data_format", "input_data_format", "_processor_class", "default_to_square",
    };

    // transformers classes whose preprocess is resize (PIL) → centre crop → rescale → normalise, as implemented here.
    // "Fast" variants are named in newer configs; the models were trained on the PIL pipeline, which is what is reproduced.
    private static readonly HashSet<string> s_knownProcessors = new(StringComparer.Ordinal)
    {
        "CLIPImageProcessor", "CLIPFeatureExtractor", "CLIPImageProcessorFast", "ChineseCLIPImageProcessor",
        "ChineseCLIPFeatureExtractor", "ChineseCLIPImageProcessorFast", "SiglipImageProcessor", "SiglipImageProcessorFast",
    };

    public static ImagePreprocessorSettings Parse(string json, string fileName)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(fileName);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new ModelConfigurationException($"{fileName} is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelConfigurationException($"{fileName} must contain a JSON object.");
            }

            string name = Path.GetFileName(fileName);
            if (string.Equals(name, OpenClipFileName, StringComparison.OrdinalIgnoreCase))
            {
                return ParseOpenClip(document.RootElement, name);
            }

            if (string.Equals(name, HuggingFaceFileName, StringComparison.OrdinalIgnoreCase))
            {
                return ParseHuggingFace(document.RootElement, name);
            }

            throw new ModelConfigurationException($"Unknown preprocessing configuration file '{fileName}': expected {HuggingFaceFileName} or {OpenClipFileName}.");
        }
    }

    private static ImagePreprocessorSettings ParseHuggingFace(JsonElement root, string file)
    {
        var settings = new ImagePreprocessorSettings { Alignment = CropAlignment.Transformers };
        foreach (JsonProperty p in root.EnumerateObject())
        {
            JsonElement v = p.Value;
            switch (p.Name)
            {
                case "image_processor_type" or "feature_extractor_type":
                    string type = v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();
                    if (!s_knownProcessors.Contains(type))
                    {
                        throw Unsupported(file, p.Name, v, "only CLIP-style processors (resize, centre crop, rescale, normalise) are implemented");
                    }

                    break;
                case "do_resize":
                    settings = settings with { Resize = Bool(file, p) };
                    break;
                case "do_center_crop":
                    settings = settings with { CenterCrop = Bool(file, p) };
                    break;
                case "do_rescale":
                    settings = settings with { Rescale = Bool(file, p) };
                    break;
                case "do_normalize":
                    settings = settings with { Normalize = Bool(file, p) };
                    break;
                case "rescale_factor":
                    settings = settings with { RescaleFactor = (float)Number(file, p) };
                    break;
                case "image_mean":
                    settings = settings with { Mean = Triple(file, p) };
                    break;
                case "image_std":
                    settings = settings with { Std = Triple(file, p) };
                    break;
                case "resample":
                    // PIL.Image.BICUBIC == 3, PIL.Image.BILINEAR == 2; other filters are not implemented.
                    settings = v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int resample) && resample is 2 or 3
                        ? settings with { Resample = resample == 2 ? ResampleFilter.Bilinear : ResampleFilter.Bicubic }
                        : throw Unsupported(file, p.Name, v, "only 3 (bicubic) and 2 (bilinear) are implemented");
                    break;
                case "size":
                    settings = v.ValueKind == JsonValueKind.Number
                        ? settings with { ShortestEdge = PositiveInt(file, p.Name, v) }
                        : ParseSizeObject(settings, file, p);
                    break;
                case "crop_size":
                    (int cw, int ch) = v.ValueKind == JsonValueKind.Number
                        ? (PositiveInt(file, p.Name, v), PositiveInt(file, p.Name, v))
                        : HeightWidth(file, p);
                    settings = settings with { CropWidth = cw, CropHeight = ch };
                    break;
                case "crop_pct" or "pad_size" or "size_divisor" when v.ValueKind == JsonValueKind.Null:
                    break;
                default:
                    if (s_ignoredHuggingFaceKeys.Contains(p.Name))
                    {
                        break;
                    }

                    // An unknown switch that is on (do_pad, do_flip_channel_order, ...) or an unknown setting that has a value
                    // could change pixels; refusing is better than a silently different pipeline.
                    if (p.Name.StartsWith("do_", StringComparison.Ordinal) && v.ValueKind == JsonValueKind.False)
                    {
                        break;
                    }

                    throw Unsupported(file, p.Name, v, "this setting is not implemented");
            }
        }

        // SigLIP processors have no centre crop; their configs do not mention one.
        string? processor = root.TryGetProperty("image_processor_type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (processor?.StartsWith("Siglip", StringComparison.Ordinal) == true && !root.TryGetProperty("do_center_crop", out _))
        {
            settings = settings with { CenterCrop = false };
        }

        if (settings.Resize && settings.ShortestEdge == 0 && settings.ResizeWidth == 0)
        {
            throw new ModelConfigurationException($"{file}: \"do_resize\" is true but \"size\" is missing.");
        }

        if (settings.CenterCrop && settings.CropWidth == 0)
        {
            throw new ModelConfigurationException($"{file}: \"do_center_crop\" is true but \"crop_size\" is missing.");
        }

        return settings;
    }

    private static ImagePreprocessorSettings ParseSizeObject(ImagePreprocessorSettings settings, string file, JsonProperty p)
    {
        if (p.Value.ValueKind != JsonValueKind.Object)
        {
            throw Unsupported(file, p.Name, p.Value, "expected a number or an object");
        }

        if (p.Value.TryGetProperty("shortest_edge", out JsonElement shortest))
        {
            foreach (JsonProperty inner in p.Value.EnumerateObject())
            {
                if (inner.Name != "shortest_edge" && inner.Value.ValueKind != JsonValueKind.Null)
                {
                    throw Unsupported(file, "size." + inner.Name, inner.Value, "only \"shortest_edge\" or \"height\"/\"width\" sizes are implemented");
                }
            }

            return settings with { ShortestEdge = PositiveInt(file, "size.shortest_edge", shortest), ResizeWidth = 0, ResizeHeight = 0 };
        }

        (int w, int h) = HeightWidth(file, p);
        return settings with { ShortestEdge = 0, ResizeWidth = w, ResizeHeight = h };
    }

    private static ImagePreprocessorSettings ParseOpenClip(JsonElement root, string file)
    {
        int size = 0;
        bool squash = false;
        var settings = new ImagePreprocessorSettings
        {
            Alignment = CropAlignment.TorchVision,
            Rescale = true,
            RescaleFactor = 1f / 255f, // torchvision ToTensor
            Normalize = true,
        };
        foreach (JsonProperty p in root.EnumerateObject())
        {
            JsonElement v = p.Value;
            switch (p.Name)
            {
                case "size":
                    if (v.ValueKind == JsonValueKind.Number)
                    {
                        size = PositiveInt(file, p.Name, v);
                    }
                    else if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 2)
                    {
                        int h = PositiveInt(file, p.Name, v[0]), w = PositiveInt(file, p.Name, v[1]);
                        if (h != w)
                        {
                            throw Unsupported(file, p.Name, v, "only square sizes are implemented (non-square needs ResizeKeepRatio)");
                        }

                        size = h;
                    }
                    else
                    {
                        throw Unsupported(file, p.Name, v, "expected a number or [height, width]");
                    }

                    break;
                case "mode":
                    if (v.ValueKind != JsonValueKind.String || v.GetString() != "RGB")
                    {
                        throw Unsupported(file, p.Name, v, "only \"RGB\" is implemented");
                    }

                    break;
                case "mean":
                    settings = settings with { Mean = Triple(file, p) };
                    break;
                case "std":
                    settings = settings with { Std = Triple(file, p) };
                    break;
                case "interpolation":
                    // torchvision's Resize on PIL images is Pillow's resize with that filter.
                    settings = (v.ValueKind == JsonValueKind.String ? v.GetString() : null) switch
                    {
                        "bicubic" => settings with { Resample = ResampleFilter.Bicubic },
                        "bilinear" => settings with { Resample = ResampleFilter.Bilinear },
                        _ => throw Unsupported(file, p.Name, v, "only \"bicubic\" and \"bilinear\" are implemented"),
                    };
                    break;
                case "resize_mode":
                    // shortest: Resize(size) + CenterCrop(size); squash: Resize((size, size)), the aspect ratio not kept (SigLIP packs).
                    squash = (v.ValueKind == JsonValueKind.String ? v.GetString() : null) switch
                    {
                        "shortest" => false,
                        "squash" => true,
                        _ => throw Unsupported(file, p.Name, v, "only \"shortest\" and \"squash\" are implemented"),
                    };
                    break;
                case "fill_color":
                    break; // used only by resize_mode "longest", which is refused
                default:
                    throw Unsupported(file, p.Name, v, "this setting is not implemented");
            }
        }

        if (size == 0)
        {
            throw new ModelConfigurationException($"{file}: \"size\" is missing.");
        }

        return squash
            ? settings with { ShortestEdge = 0, ResizeWidth = size, ResizeHeight = size, CropWidth = size, CropHeight = size, Resize = true, CenterCrop = false }
            : settings with { ShortestEdge = size, CropWidth = size, CropHeight = size, Resize = true, CenterCrop = true };
    }

    private static ModelConfigurationException Unsupported(string file, string key, JsonElement value, string why) =>
        new($"{file}: unsupported \"{key}\": {Shorten(value.GetRawText())} ({why}).");

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";

    private static bool Bool(string file, JsonProperty p) => p.Value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Unsupported(file, p.Name, p.Value, "expected true or false"),
    };

    private static double Number(string file, JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetDouble(out double d) && double.IsFinite(d)
            ? d
            : throw Unsupported(file, p.Name, p.Value, "expected a number");

    private static int PositiveInt(string file, string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) && i > 0 && i <= 16384
            ? i
            : throw Unsupported(file, key, v, "expected a positive integer");

    private static (int Width, int Height) HeightWidth(string file, JsonProperty p)
    {
        if (p.Value.ValueKind != JsonValueKind.Object
            || !p.Value.TryGetProperty("height", out JsonElement h)
            || !p.Value.TryGetProperty("width", out JsonElement w))
        {
            throw Unsupported(file, p.Name, p.Value, "expected a number or {\"height\", \"width\"}");
        }

        foreach (JsonProperty inner in p.Value.EnumerateObject())
        {
            if (inner.Name is not ("height" or "width"))
            {
                throw Unsupported(file, p.Name + "." + inner.Name, inner.Value, "only height and width are implemented");
            }
        }

        return (PositiveInt(file, p.Name + ".width", w), PositiveInt(file, p.Name + ".height", h));
    }

    private static float[] Triple(string file, JsonProperty p)
    {
        if (p.Value.ValueKind != JsonValueKind.Array || p.Value.GetArrayLength() != 3)
        {
            throw Unsupported(file, p.Name, p.Value, "expected 3 numbers (R, G, B)");
        }

        var values = new float[3];
        for (int i = 0; i < 3; i++)
        {
            JsonElement e = p.Value[i];
            values[i] = e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double d) && double.IsFinite(d)
                ? (float)d
                : throw Unsupported(file, p.Name, p.Value, "expected 3 numbers (R, G, B)");
        }

        return values;
    }
}
