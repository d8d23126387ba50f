namespace Omnivec.Preprocessing;

/// <summary>How the centre crop's offset is rounded when the margin is odd; the two reference pipelines differ by one pixel.</summary>
public enum CropAlignment
{
    /// <summary>Hugging Face transformers: <c>top = (h - ch) // 2</c>.</summary>
    Transformers,

    /// <summary>torchvision CenterCrop (OpenCLIP): <c>top = round((h - ch) / 2)</c>, Python's round half to even.</summary>
    TorchVision,
}

/// <summary>The pixel pipeline of one model: resize (Pillow bicubic), centre crop, rescale, normalise.</summary>
public sealed record ImagePreprocessorSettings
{
    /// <summary>Resize so the short side becomes this (long side scaled with truncation, as both references do). 0 when <see cref="ResizeWidth"/>/<see cref="ResizeHeight"/> are used.</summary>
    public int ShortestEdge { get; init; }

    /// <summary>Exact resize target (aspect ratio not kept), used when <see cref="ShortestEdge"/> is 0.</summary>
    public int ResizeWidth { get; init; }

    /// <inheritdoc cref="ResizeWidth"/>
    public int ResizeHeight { get; init; }

    public int CropWidth { get; init; }
    public int CropHeight { get; init; }
    public bool Resize { get; init; } = true;
    public bool CenterCrop { get; init; } = true;
    public bool Rescale { get; init; } = true;
    public bool Normalize { get; init; } = true;
    public float RescaleFactor { get; init; } = 1f / 255f;
    public IReadOnlyList<float> Mean { get; init; } = [0.48145466f, 0.4578275f, 0.40821073f];
    public IReadOnlyList<float> Std { get; init; } = [0.26862954f, 0.26130258f, 0.27577711f];
    public CropAlignment Alignment { get; init; } = CropAlignment.Transformers;
}
