using Omnivec.Models;

namespace Omnivec.Hub;

/// <summary>A Hub model whose layout, family and tokenizer Omnivec supports: one row of <c>omnivec models list --available</c>.</summary>
/// <param name="RepoId">org/name on the Hub.</param>
/// <param name="Layout">How its files are arranged.</param>
/// <param name="Dimensions">Length of its embeddings.</param>
/// <param name="Note">One line for people choosing a model.</param>
public sealed record KnownModel(string RepoId, ClipLayoutKind Layout, int Dimensions, string Note)
{
    /// <summary>The model family (decides tokenizer, pooling and how scores read).</summary>
    public ModelFamily Family { get; init; } = ModelFamily.Clip;

    /// <summary>What its text tower was trained on: <c>en</c>, or <c>multilingual</c> with a hint of how many languages.</summary>
    public string Languages { get; init; } = "en";

    /// <summary>What it embeds besides text: <c>image</c> or <c>audio</c>.</summary>
    public string Media { get; init; } = "image";

    /// <summary>A quality figure published by the model's authors, with its benchmark and source; null when none is quoted.</summary>
    public string? Quality { get; init; }

    /// <summary>
    /// Images per second measured on the reference bench machine (2-core x64, batch 32, model only, fp32), from
    /// <c>bench/run.sh</c> on a tower of this exact shape; null when the shape was not measured.
    /// </summary>
    public double? ImagesPerSecond { get; init; }
}

/// <summary>The default model and the short list of models checked to work.</summary>
public static class HubDefaults
{
    /// <summary>The model used when none is given: OpenAI CLIP ViT-B/32 as exported by Transformers.js (fp32, fp16 and quantized).</summary>
    public const string DefaultModel = "Xenova/clip-vit-base-patch32";

    /// <summary>
    /// The curated table of packs to try, in the families and layouts Omnivec loads (each family is checked here for
    /// parity on test packs of the same file names, input/output names and configs; real weights are fetched by users).
    /// Quality figures are the authors' own; images/s were measured on this project's bench machine.
    /// </summary>
    public static IReadOnlyList<KnownModel> KnownModels { get; } =
    [
        new(DefaultModel, ClipLayoutKind.TransformersJs, 512, "OpenAI CLIP ViT-B/32; the default, fast; fp32/fp16/quantized")
        {
            Quality = "ImageNet zero-shot 63.2 % (CLIP paper); Crossmodal-3600 recall 59.4 (Immich's table)",
            ImagesPerSecond = 19.1,
        },
        new("Xenova/clip-vit-base-patch16", ClipLayoutKind.TransformersJs, 512, "OpenAI CLIP ViT-B/16; finer detail, about 4x the image compute of B/32")
        {
            Quality = "ImageNet zero-shot 68.6 % (CLIP paper)",
        },
        new("Xenova/clip-vit-large-patch14", ClipLayoutKind.TransformersJs, 768, "OpenAI CLIP ViT-L/14; large and slow on CPU")
        {
            Quality = "ImageNet zero-shot 75.3 % (CLIP paper)",
        },
        new("immich-app/ViT-B-32__openai", ClipLayoutKind.Immich, 512, "OpenAI CLIP ViT-B/32 in Immich's layout (fp32 only)")
        {
            Quality = "ImageNet zero-shot 63.2 % (CLIP paper)",
            ImagesPerSecond = 19.1,
        },
        new("immich-app/ViT-B-16__openai", ClipLayoutKind.Immich, 512, "OpenAI CLIP ViT-B/16 in Immich's layout (fp32 only)")
        {
            Quality = "ImageNet zero-shot 68.6 % (CLIP paper)",
        },
        new("Xenova/siglip-base-patch16-224", ClipLayoutKind.TransformersJs, 768, "Google SigLIP B/16 at 224 px; search and classify report a match probability")
        {
            Family = ModelFamily.Siglip,
            Quality = "ImageNet zero-shot 76.2 % (SigLIP paper, B/16 224)",
        },
        new("onnx-community/siglip2-base-patch16-224-ONNX", ClipLayoutKind.TransformersJs, 768, "Google SigLIP 2 B/16 at 224 px (Gemma tokenizer, text lower-cased); match probabilities like SigLIP")
        {
            Family = ModelFamily.Siglip,
            Languages = "multilingual (Gemma vocabulary)",
            Quality = "Crossmodal-3600 recall 75.2 for ViT-B-16-SigLIP2 (Immich's table)",
        },
        new("immich-app/XLM-Roberta-Large-Vit-B-32", ClipLayoutKind.Immich, 512, "M-CLIP: multilingual XLM-R Large text tower matched to OpenAI's ViT-B/32 images")
        {
            Family = ModelFamily.MClip,
            Languages = "multilingual (XLM-R)",
        },
        new("immich-app/nllb-clip-base-siglip__v1", ClipLayoutKind.Immich, 768, "NLLB-CLIP: an NLLB-200 text tower matched to SigLIP B/16 images; the query's language is told with --language (FLORES-200, e.g. deu_Latn or de)")
        {
            Family = ModelFamily.NllbClip,
            Languages = "multilingual (201 FLORES-200 languages)",
        },
        new("Xenova/clap-htsat-unfused", ClipLayoutKind.TransformersJs, 512, "LAION CLAP: sounds found by describing them; recordings in 10 s windows")
        {
            Family = ModelFamily.Clap,
            Media = "audio",
        },
    ];

    /// <summary>The known model with this repo id (case-insensitive), or null.</summary>
    public static KnownModel? Find(string repoId) =>
        KnownModels.FirstOrDefault(m => string.Equals(m.RepoId, repoId, StringComparison.OrdinalIgnoreCase));
}
