using Omnivec.Media;

namespace Omnivec.Onnx;

/// <summary>How a local CLAP (audio-text) model is loaded and run (Transformers.js layout: onnx/audio_model.onnx, onnx/text_model.onnx).</summary>
public sealed class ClapModelOptions : OnnxModelOptions
{
    /// <summary>Creates the defaults (batches of 8 texts or audio windows).</summary>
    public ClapModelOptions()
        : base(maxBatchSize: 8)
    {
    }

    /// <summary>
    /// Seconds between the starts of consecutive windows of long audio; 0 (the default) means one window length (no
    /// overlap). Must not exceed the window length.
    /// </summary>
    public double WindowHopSeconds { get; set; }

    /// <summary>Where FFmpeg lives and the limits on audio files.</summary>
    public FfmpegOptions Ffmpeg { get; set; } = new();
}
