using System.Text.Json;

namespace Omnivec.Models;

/// <summary>Which kind of two-tower model a pack holds: it decides the tokenizer, the pooling and how scores read.</summary>
public enum ModelFamily
{
    /// <summary>OpenAI CLIP and OpenCLIP models with CLIP's byte-level BPE tokenizer; softmax over labels.</summary>
    Clip,

    /// <summary>SigLIP (sigmoid loss): SentencePiece tokenizer, text padded to 64, pooled output; a per-pair probability.</summary>
    Siglip,

    /// <summary>M-CLIP: an XLM-RoBERTa text tower (input ids + attention mask, mean-pooled) trained to match a CLIP image tower.</summary>
    MClip,

    /// <summary>CLAP (LAION): audio and text in one space; RoBERTa byte-level BPE text tower, HTSAT audio tower on mel features.</summary>
    Clap,

    /// <summary>
    /// NLLB-CLIP: an NLLB-200 text encoder (FLORES-200 language code token in front of the text, SentencePiece ids with
    /// the fairseq offset) trained to match a CLIP or SigLIP image tower.
    /// </summary>
    NllbClip,
}

/// <summary>Tells a pack's <see cref="ModelFamily"/> from its own files; never from its name.</summary>
public static class ModelFamilyDetector
{
    /// <summary>The family name used in messages, collections and on the command line: clip, siglip, mclip, clap, nllb-clip.</summary>
    public static string Name(ModelFamily family) => family switch
    {
        ModelFamily.Clip => "clip",
        ModelFamily.Siglip => "siglip",
        ModelFamily.MClip => "mclip",
        ModelFamily.Clap => "clap",
        ModelFamily.NllbClip => "nllb-clip",
        _ => family.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// Reads the family from the pack's files: Transformers.js packs by config.json <c>model_type</c> (else
    /// tokenizer_config.json <c>tokenizer_class</c>); Immich packs by config.json <c>text_cfg.hf_tokenizer_name</c> naming
    /// a SigLIP tokenizer, else textual/tokenizer_config.json <c>tokenizer_class</c> (else <c>hf_tokenizer_name</c>, and
    /// OpenCLIP's built-in CLIP tokenizer when it names none).
    /// </summary>
    /// <exception cref="ModelConfigurationException">The files name a family Omnivec does not support, or name none.</exception>
    public static ModelFamily Detect(string directory, ClipModelFiles files)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(files);
        return files.Kind == ClipLayoutKind.Immich ? DetectImmich(directory) : DetectTransformersJs(directory);
    }

    private static ModelFamily DetectTransformersJs(string directory)
    {
        string configPath = Path.Combine(directory, "config.json");
        if (ReadString(configPath, "model_type") is { } modelType)
        {
            return modelType switch
            {
                "clip" or "chinese_clip" => ModelFamily.Clip,
                "siglip" => ModelFamily.Siglip,
                "clap" => ModelFamily.Clap,
                _ => throw new ModelConfigurationException(
                    $"{configPath}: model_type \"{modelType}\" is not a model family Omnivec supports (supported: clip, siglip, clap" +
                    (modelType == "siglip2"
                        ? "; this is a SigLIP 2 NaFlex pack (variable resolution and aspect ratio), which is not supported yet: use a fixed-resolution SigLIP 2 pack such as onnx-community/siglip2-base-patch16-224-ONNX, whose model_type is siglip"
                        : "") + ")."),
            };
        }

        string tokenizerConfig = Path.Combine(directory, "tokenizer_config.json");
        if (ReadString(tokenizerConfig, "tokenizer_class") is { } tokenizerClass)
        {
            return FromTokenizerClass(tokenizerClass, tokenizerConfig);
        }

        throw new ModelConfigurationException(
            $"Cannot tell which model family {directory} holds: config.json has no model_type and tokenizer_config.json no tokenizer_class.");
    }

    private static ModelFamily DetectImmich(string directory)
    {
        // OpenCLIP's SigLIP configs name timm's tokenizer (timm/ViT-B-16-SigLIP: a T5-style SentencePiece tokenizer;
        // timm/ViT-B-16-SigLIP2: Gemma's), whose tokenizer_class alone does not tell the family.
        string config = Path.Combine(directory, "config.json");
        if (ReadObject(config, "text_cfg") is { } text && text.TryGetProperty("hf_tokenizer_name", out JsonElement hf) && hf.ValueKind == JsonValueKind.String
            && hf.GetString()!.Contains("siglip", StringComparison.OrdinalIgnoreCase))
        {
            return ModelFamily.Siglip;
        }

        string tokenizerConfig = Path.Combine(directory, "textual", "tokenizer_config.json");
        if (ReadString(tokenizerConfig, "tokenizer_class") is { } tokenizerClass)
        {
            return FromTokenizerClass(tokenizerClass, tokenizerConfig);
        }

        string configPath = Path.Combine(directory, "config.json");
        JsonElement? textCfg = ReadObject(configPath, "text_cfg");
        if (textCfg is { } cfg && cfg.TryGetProperty("hf_tokenizer_name", out JsonElement name) && name.ValueKind == JsonValueKind.String)
        {
            string tokenizer = name.GetString()!;
            if (tokenizer.Contains("xlm-roberta", StringComparison.OrdinalIgnoreCase))
            {
                return ModelFamily.MClip;
            }

            if (tokenizer.Contains("nllb", StringComparison.OrdinalIgnoreCase))
            {
                return ModelFamily.NllbClip;
            }

            throw new ModelConfigurationException(
                $"{configPath}: text_cfg.hf_tokenizer_name \"{tokenizer}\" is not a tokenizer Omnivec supports for Immich packs (supported: OpenCLIP's CLIP tokenizer, xlm-roberta, nllb).");
        }

        if (File.Exists(configPath))
        {
            // OpenCLIP configs without hf_tokenizer_name use OpenCLIP's built-in CLIP tokenizer.
            return ModelFamily.Clip;
        }

        throw new ModelConfigurationException(
            $"Cannot tell which model family {directory} holds: no textual/tokenizer_config.json tokenizer_class and no config.json.");
    }

    private static ModelFamily FromTokenizerClass(string tokenizerClass, string path)
    {
        string name = tokenizerClass.EndsWith("Fast", StringComparison.Ordinal) ? tokenizerClass[..^4] : tokenizerClass;
        return name switch
        {
            "CLIPTokenizer" or "ChineseCLIPTokenizer" => ModelFamily.Clip,
            "SiglipTokenizer" or "GemmaTokenizer" or "Siglip2Tokenizer" => ModelFamily.Siglip, // Gemma's: SigLIP 2
            "XLMRobertaTokenizer" => ModelFamily.MClip,
            "NllbTokenizer" => ModelFamily.NllbClip,
            _ => throw new ModelConfigurationException(
                $"{path}: tokenizer_class \"{tokenizerClass}\" is not supported (supported: CLIPTokenizer, SiglipTokenizer, GemmaTokenizer for SigLIP 2, XLMRobertaTokenizer, NllbTokenizer)."),
        };
    }

    private static string? ReadString(string path, string key)
    {
        using JsonDocument? doc = Read(path);
        return doc is not null && doc.RootElement.ValueKind == JsonValueKind.Object
            && doc.RootElement.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;
    }

    private static JsonElement? ReadObject(string path, string key)
    {
        using JsonDocument? doc = Read(path);
        return doc is not null && doc.RootElement.ValueKind == JsonValueKind.Object
            && doc.RootElement.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.Object
            ? v.Clone()
            : null;
    }

    private static JsonDocument? Read(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new ModelConfigurationException($"{path} is not valid JSON: {ex.Message}", ex);
        }
    }
}
