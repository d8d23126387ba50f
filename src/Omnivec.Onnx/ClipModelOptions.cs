using Omnivec.Imaging;
using Omnivec.Models;

namespace Omnivec.Onnx;

/// <summary>How a local CLIP model is loaded and run.</summary>
public sealed class ClipModelOptions
{
    /// <summary>Model folder (Transformers.js or Immich layout). Required when registering through DI.</summary>
    public string? ModelDirectory { get; set; }

    /// <summary>Which ONNX files to load where the folder has several (fp32, fp16, quantized).</summary>
    public ModelVariant Variant { get; set; } = ModelVariant.Fp32;

    /// <summary>Identity recorded in <see cref="EmbeddingSpace"/>: the Hub repo id, or the folder name when null.</summary>
    public string? ModelId { get; set; }

    /// <summary>Revision (commit) of the weights, recorded in <see cref="EmbeddingSpace"/>; a hash of the ONNX files when null.</summary>
    public string? Revision { get; set; }

    /// <summary>L2-normalise every vector (the default; CLIP similarity is cosine).</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>Threads ONNX Runtime uses inside one model run; 0 means one per core.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Largest batch sent to the model in one run (models with a fixed batch size override this).</summary>
    public int MaxBatchSize { get; set; } = 16;

    /// <summary>
    /// Run the text tower only as wide as the longest text in the batch (models with a dynamic sequence axis). Exact,
    /// because the tower is causal and pools at the end token; on by default.
    /// </summary>
    public bool TrimTextPadding { get; set; } = true;

    /// <summary>
    /// Load the image tower on the first image instead of in <see cref="ClipEmbeddingGenerator.Load(string, ClipModelOptions?)"/>:
    /// text searches start faster and use less memory. Services that want every model error at start-up set it to false.
    /// On by default.
    /// </summary>
    public bool LoadVisionOnFirstUse { get; set; } = true;

    /// <summary>How many images are decoded and preprocessed in parallel; 0 means one per core.</summary>
    public int DecodeParallelism { get; set; }

    /// <summary>Decoder limits (pixel limit, byte limit, reduced JPEG decoding).</summary>
    public ImageDecoderOptions Decoder { get; set; } = new();
}
