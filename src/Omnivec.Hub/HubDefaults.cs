using Omnivec.Models;

namespace Omnivec.Hub;

/// <summary>A Hub model known to load in Omnivec (CLIP with the BPE tokenizer, in a supported layout).</summary>
/// <param name="RepoId">org/name on the Hub.</param>
/// <param name="Layout">How its files are arranged.</param>
/// <param name="Dimensions">Length of its embeddings.</param>
/// <param name="Note">One line for people choosing a model.</param>
public sealed record KnownModel(string RepoId, ClipLayoutKind Layout, int Dimensions, string Note);

/// <summary>The default model and the short list of models checked to work.</summary>
public static class HubDefaults
{
    /// <summary>The model used when none is given: OpenAI CLIP ViT-B/32 as exported by Transformers.js (fp32, fp16 and quantized).</summary>
    public const string DefaultModel = "Xenova/clip-vit-base-patch32";

    /// <summary>Known-good models. Multilingual Immich models (e.g. XLM-Roberta ones) are left out: their text side is not CLIP BPE.</summary>
    public static IReadOnlyList<KnownModel> KnownModels { get; } =
    [
        new(DefaultModel, ClipLayoutKind.TransformersJs, 512, "OpenAI CLIP ViT-B/32; the default, fast; fp32/fp16/quantized"),
        new("Xenova/clip-vit-base-patch16", ClipLayoutKind.TransformersJs, 512, "OpenAI CLIP ViT-B/16; finer detail, about 4x the image compute of B/32"),
        new("Xenova/clip-vit-large-patch14", ClipLayoutKind.TransformersJs, 768, "OpenAI CLIP ViT-L/14; best quality here, large and slow on CPU"),
        new("immich-app/ViT-B-32__openai", ClipLayoutKind.Immich, 512, "OpenAI CLIP ViT-B/32 in Immich's layout (fp32 only)"),
        new("immich-app/ViT-B-16__openai", ClipLayoutKind.Immich, 512, "OpenAI CLIP ViT-B/16 in Immich's layout (fp32 only)"),
    ];

    /// <summary>The known model with this repo id (case-insensitive), or null.</summary>
    public static KnownModel? Find(string repoId) =>
        KnownModels.FirstOrDefault(m => string.Equals(m.RepoId, repoId, StringComparison.OrdinalIgnoreCase));
}
