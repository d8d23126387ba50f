using System.Globalization;

namespace Omnivec.Models;

/// <summary>How a CLIP model's files are arranged in a folder or Hub repository.</summary>
public enum ClipLayoutKind
{
    /// <summary>Transformers.js exports: <c>onnx/text_model{suffix}.onnx</c> and <c>onnx/vision_model{suffix}.onnx</c> (e.g. Xenova/clip-vit-base-patch32).</summary>
    TransformersJs,

    /// <summary>Immich exports: <c>textual/model.onnx</c> and <c>visual/model.onnx</c> (e.g. immich-app/ViT-B-32__openai).</summary>
    Immich,

    /// <summary>
    /// Transformers.js CLAP exports (audio and text): <c>onnx/text_model{suffix}.onnx</c> and <c>onnx/audio_model{suffix}.onnx</c>
    /// (e.g. Xenova/clap-htsat-unfused); <see cref="ClipModelFiles.VisionModel"/> then names the audio encoder.
    /// </summary>
    TransformersJsAudio,
}

/// <summary>Numeric precision of the ONNX weights.</summary>
public enum ModelVariant
{
    /// <summary>32-bit float weights (<c>model.onnx</c>); the reference precision.</summary>
    Fp32,
    /// <summary>16-bit float weights (<c>model_fp16.onnx</c>).</summary>
    Fp16,
    /// <summary>8-bit quantized weights (<c>model_quantized.onnx</c>).</summary>
    Quantized,
}

/// <summary>The files a CLIP model needs: the two encoders plus the configuration and tokenizer files present.</summary>
/// <param name="Kind">The layout the files follow.</param>
/// <param name="TextModel">Relative path ('/'-separated) of the text encoder.</param>
/// <param name="VisionModel">Relative path ('/'-separated) of the image encoder (the audio encoder in a <see cref="ClipLayoutKind.TransformersJsAudio"/> pack).</param>
/// <param name="SupportFiles">Relative paths of configuration, tokenizer and external-data files, in a stable order.</param>
public sealed record ClipModelFiles(ClipLayoutKind Kind, string TextModel, string VisionModel, IReadOnlyList<string> SupportFiles)
{
    /// <summary>Every file: support files first, then the text and vision models (the order downloads use, so a model pair only appears once its support files are in place).</summary>
    public IEnumerable<string> AllFiles => SupportFiles.Concat([TextModel, VisionModel]);
}

/// <summary>Recognizes the CLIP model layouts Omnivec can load and picks the files one needs.</summary>
public static class ClipModelLayout
{
    private const string TjsText = "onnx/text_model";
    private const string TjsVision = "onnx/vision_model";
    private const string TjsAudio = "onnx/audio_model";
    private const string ImmichText = "textual/model.onnx";
    private const string ImmichVision = "visual/model.onnx";

    private static readonly string[] s_tjsSupport =
    [
        "config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
        "vocab.json", "merges.txt", "special_tokens_map.json", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model",
    ];

    private static readonly string[] s_immichSupport =
    [
        "config.json", "visual/preprocess_cfg.json", "textual/tokenizer.json", "textual/tokenizer_config.json",
        "textual/vocab.json", "textual/merges.txt", "textual/special_tokens_map.json", "textual/spiece.model",
        "textual/sentencepiece.bpe.model", "textual/tokenizer.model",
    ];

    private static readonly ModelVariant[] s_variants = [ModelVariant.Fp32, ModelVariant.Fp16, ModelVariant.Quantized];

    /// <summary>Picks the layout and the files needed for <paramref name="variant"/> from a list of relative paths.</summary>
    /// <exception cref="ModelConfigurationException">No known layout, or the variant is not offered.</exception>
    public static ClipModelFiles Select(IEnumerable<string> files, ModelVariant variant = ModelVariant.Fp32)
    {
        ArgumentNullException.ThrowIfNull(files);
        var set = Normalize(files);

        List<ModelVariant> tjsVariants = TransformersJsVariants(set);
        if (tjsVariants.Count > 0)
        {
            if (!tjsVariants.Contains(variant))
            {
                throw new ModelConfigurationException(
                    $"This model has no {VariantName(variant)} weights ({TjsText}{Suffix(variant)}.onnx + {TjsVision}{Suffix(variant)}.onnx); " +
                    $"variants available: {string.Join(", ", tjsVariants.Select(VariantName))}.");
            }

            string text = TjsText + Suffix(variant) + ".onnx";
            string vision = TjsVision + Suffix(variant) + ".onnx";
            return new ClipModelFiles(ClipLayoutKind.TransformersJs, text, vision, Support(set, s_tjsSupport, text, vision));
        }

        List<ModelVariant> audioVariants = TransformersJsAudioVariants(set);
        if (audioVariants.Count > 0)
        {
            if (!audioVariants.Contains(variant))
            {
                throw new ModelConfigurationException(
                    $"This model has no {VariantName(variant)} weights ({TjsText}{Suffix(variant)}.onnx + {TjsAudio}{Suffix(variant)}.onnx); " +
                    $"variants available: {string.Join(", ", audioVariants.Select(VariantName))}.");
            }

            string text = TjsText + Suffix(variant) + ".onnx";
            string audio = TjsAudio + Suffix(variant) + ".onnx";
            return new ClipModelFiles(ClipLayoutKind.TransformersJsAudio, text, audio, Support(set, s_tjsSupport, text, audio));
        }

        if (set.Contains(ImmichText) && set.Contains(ImmichVision))
        {
            if (variant != ModelVariant.Fp32)
            {
                // Immich ships fp16/int8 only as hardware-specific (ARM NN, RKNN) files, which ONNX Runtime cannot load.
                throw new ModelConfigurationException(
                    $"This model uses the Immich layout, which offers no {VariantName(variant)} ONNX weights; variants available: fp32.");
            }

            List<string> support = Support(set, s_immichSupport, ImmichText, ImmichVision);
            // Graphs whose weights are stored one file per tensor name those files freely; they sit beside the graph.
            // Subfolders hold hardware-specific exports (ARM NN, RKNN), which are never needed.
            support.AddRange(set
                .Where(f => (IsDirectChild(f, "textual/") || IsDirectChild(f, "visual/")) && f != ImmichText && f != ImmichVision
                    && !support.Contains(f) && !f.EndsWith(".armnn", StringComparison.Ordinal) && !f.EndsWith(".rknn", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal));
            return new ClipModelFiles(ClipLayoutKind.Immich, ImmichText, ImmichVision, support);
        }

        throw new ModelConfigurationException(
            $"Not a CLIP or CLAP model Omnivec can load: there is no {TjsText}.onnx + {TjsVision}.onnx (Transformers.js layout), no {TjsText}.onnx + {TjsAudio}.onnx (Transformers.js CLAP) " +
            $"and no {ImmichText} + {ImmichVision} (Immich layout){DescribeMissing(set)}.");
    }

    /// <summary>Like <see cref="Select(IEnumerable{string}, ModelVariant)"/> over the files under <paramref name="directory"/> (symlinks followed, dot-folders skipped).</summary>
    public static ClipModelFiles SelectFromDirectory(string directory, ModelVariant variant = ModelVariant.Fp32)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!Directory.Exists(directory))
        {
            throw new ModelConfigurationException($"Model folder not found: {directory}");
        }

        return Select(ListFiles(directory), variant);
    }

    /// <summary>The variants whose text and vision models are both present, in the order fp32, fp16, quantized; empty when no layout is recognized.</summary>
    public static IReadOnlyList<ModelVariant> AvailableVariants(IEnumerable<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var set = Normalize(files);
        List<ModelVariant> tjs = TransformersJsVariants(set);
        if (tjs.Count > 0)
        {
            return tjs;
        }

        List<ModelVariant> audio = TransformersJsAudioVariants(set);
        if (audio.Count > 0)
        {
            return audio;
        }

        return set.Contains(ImmichText) && set.Contains(ImmichVision) ? [ModelVariant.Fp32] : [];
    }

    /// <summary>Parses a variant name: fp32/float32/full, fp16/float16/half, quantized/q8/int8/uint8.</summary>
    public static ModelVariant ParseVariant(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToUpperInvariant() switch
        {
            "FP32" or "FLOAT32" or "F32" or "FULL" => ModelVariant.Fp32,
            "FP16" or "FLOAT16" or "F16" or "HALF" => ModelVariant.Fp16,
            "QUANTIZED" or "Q8" or "INT8" or "UINT8" or "QINT8" => ModelVariant.Quantized,
            _ => throw new ModelConfigurationException(
                $"Unknown model variant '{text}'; use fp32, fp16 or quantized (also accepted: float32, float16, half, q8, int8, uint8)."),
        };
    }

    /// <summary>The lower-case name used in messages and on the command line: fp32, fp16, quantized.</summary>
    public static string VariantName(ModelVariant variant) => variant switch
    {
        ModelVariant.Fp32 => "fp32",
        ModelVariant.Fp16 => "fp16",
        ModelVariant.Quantized => "quantized",
        _ => variant.ToString().ToLowerInvariant(),
    };

    /// <summary>Relative '/'-separated paths of the files under <paramref name="directory"/>, symlinks followed, dot-files and dot-folders (.git, .cache) skipped.</summary>
    public static IEnumerable<string> ListFiles(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            AttributesToSkip = FileAttributes.None,
            IgnoreInaccessible = true,
            ReturnSpecialDirectories = false,
        };
        string root = Path.GetFullPath(directory);
        foreach (string path in Directory.EnumerateFiles(root, "*", options))
        {
            string relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            // Skip .git, .cache and similar: never model files, sometimes huge.
            if (relative.StartsWith('.') || relative.Contains("/.", StringComparison.Ordinal))
            {
                continue;
            }

            yield return relative;
        }
    }

    private static HashSet<string> Normalize(IEnumerable<string> files)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            if (string.IsNullOrEmpty(file))
            {
                continue;
            }

            string path = file.Replace('\\', '/');
            while (path.StartsWith("./", StringComparison.Ordinal))
            {
                path = path[2..];
            }

            set.Add(path.TrimStart('/'));
        }

        return set;
    }

    private static string Suffix(ModelVariant variant) => variant switch
    {
        ModelVariant.Fp16 => "_fp16",
        ModelVariant.Quantized => "_quantized",
        _ => "",
    };

    private static List<ModelVariant> TransformersJsVariants(HashSet<string> set) =>
        s_variants.Where(v => set.Contains(TjsText + Suffix(v) + ".onnx") && set.Contains(TjsVision + Suffix(v) + ".onnx")).ToList();

    private static List<ModelVariant> TransformersJsAudioVariants(HashSet<string> set) =>
        s_variants.Where(v => set.Contains(TjsText + Suffix(v) + ".onnx") && set.Contains(TjsAudio + Suffix(v) + ".onnx")).ToList();

    private static List<string> Support(HashSet<string> set, string[] candidates, string text, string vision)
    {
        var result = candidates.Where(set.Contains).ToList();
        foreach (string model in new[] { text, vision })
        {
            // External weights (models over 2 GB): "<model>.onnx_data", shards "<model>.onnx_data_1", … or "<model>.onnx.data".
            string stem = model[..^".onnx".Length];
            result.AddRange(set
                .Where(f => f == model + ".data" || f == stem + ".onnx_data"
                    || (f.StartsWith(stem + ".onnx_data_", StringComparison.Ordinal)
                        && int.TryParse(f.AsSpan(stem.Length + ".onnx_data_".Length), NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                .Order(StringComparer.Ordinal));
        }

        return result;
    }

    private static bool IsDirectChild(string path, string folder) =>
        path.StartsWith(folder, StringComparison.Ordinal) && path.IndexOf('/', folder.Length) < 0;

    private static string DescribeMissing(HashSet<string> set)
    {
        var present = new[] { TjsText + ".onnx", TjsVision + ".onnx", TjsAudio + ".onnx", ImmichText, ImmichVision }.Where(set.Contains).ToList();
        if (present.Count > 0)
        {
            return $" (found only {string.Join(", ", present)})";
        }

        int onnx = set.Count(f => f.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase));
        return onnx > 0
            ? $" (found {onnx.ToString(CultureInfo.InvariantCulture)} other .onnx file(s), e.g. {set.Where(f => f.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).First()})"
            : set.Count == 0 ? " (the folder is empty)" : " (no .onnx files at all)";
    }
}
