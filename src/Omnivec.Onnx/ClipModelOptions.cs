using Omnivec.Imaging;

namespace Omnivec.Onnx;

/// <summary>How a local CLIP-family model (Transformers.js or Immich layout) is loaded and run.</summary>
public sealed class ClipModelOptions : OnnxModelOptions
{
    /// <summary>Creates the defaults (batches of 16).</summary>
    public ClipModelOptions()
        : base(maxBatchSize: 16)
    {
    }

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
