using Omnivec.Models;

namespace Omnivec.Onnx;

/// <summary>
/// What loading any local ONNX model pack takes: where it is, which files, the identity it records, normalisation,
/// threads and batch size. <see cref="ClipModelOptions"/> (image-text) and <see cref="ClapModelOptions"/> (audio-text)
/// add what their kind of model needs.
/// </summary>
public abstract class OnnxModelOptions
{
    private protected OnnxModelOptions(int maxBatchSize) => MaxBatchSize = maxBatchSize;

    /// <summary>Model folder. Required when registering through DI.</summary>
    public string? ModelDirectory { get; set; }

    /// <summary>Which ONNX files to load where the folder has several (fp32, fp16, quantized).</summary>
    public ModelVariant Variant { get; set; } = ModelVariant.Fp32;

    /// <summary>Identity recorded in <see cref="EmbeddingSpace"/>: the Hub repo id, or the folder name when null.</summary>
    public string? ModelId { get; set; }

    /// <summary>Revision (commit) of the weights, recorded in <see cref="EmbeddingSpace"/>; a hash of the ONNX files when null.</summary>
    public string? Revision { get; set; }

    /// <summary>L2-normalise every vector (the default; similarity in these models is cosine).</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>Threads ONNX Runtime uses inside one model run; 0 means one per core.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Largest batch sent to the model in one run (models with a fixed batch size override this).</summary>
    public int MaxBatchSize { get; set; }
}
