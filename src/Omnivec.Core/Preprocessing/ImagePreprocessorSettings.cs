namespace Omnivec.Preprocessing;

/// <summary>How the centre crop's offset is rounded when the margin is odd; the two reference pipelines differ by one pixel.</summary>
public enum CropAlignment
{
    /// <summary>Hugging Face transformers: <c>top = (h - ch) // 2</c>.</summary>
    Transformers,

    /// <summary>torchvision CenterCrop (OpenCLIP): <c>top = round((h - ch) / 2)</c>, Python's round half to even.</summary>
    TorchVision,
}

/// <summary>Pillow's resampling filter for the resize; the pack's config names it (<c>resample</c>: 3 bicubic, 2 bilinear).</summary>
public enum ResampleFilter
{
    /// <summary><c>Image.BICUBIC</c> (3): CLIP's and SigLIP's processors.</summary>
    Bicubic,

    /// <summary><c>Image.BILINEAR</c> (2): SigLIP 2's processor.</summary>
    Bilinear,
}

/// <summary>The pixel pipeline of one model: resize (Pillow bicubic or bilinear), centre crop, rescale, normalise.</summary>
public sealed record ImagePreprocessorSettings
{
    /// <summary>The resize filter (<c>resample</c>), Pillow's, bit-exact.</summary>
    public ResampleFilter Resample { get; init; } = ResampleFilter.Bicubic;

    /// <summary>Resize so the short side becomes this (long side scaled with truncation, as both references do). 0 when <see cref="ResizeWidth"/>/<see cref="ResizeHeight"/> are used.</summary>
    public int ShortestEdge { get; init; }

    /// <summary>Exact resize target (aspect ratio not kept), used when <see cref="ShortestEdge"/> is 0.</summary>
    public int ResizeWidth { get; init; }

    /// <inheritdoc cref="ResizeWidth"/>
    public int ResizeHeight { get; init; }

    /// <summary>Width of the centre crop (<c>crop_size</c>).</summary>
    public int CropWidth { get; init; }
    /// <summary>Height of the centre crop (<c>crop_size</c>).</summary>
    public int CropHeight { get; init; }
    /// <summary>Whether to resize first (<c>do_resize</c>).</summary>
    public bool Resize { get; init; } = true;
    /// <summary>Whether to centre-crop after resizing (<c>do_center_crop</c>).</summary>
    public bool CenterCrop { get; init; } = true;
    /// <summary>Whether to multiply pixel values by <see cref="RescaleFactor"/> (<c>do_rescale</c>).</summary>
    public bool Rescale { get; init; } = true;
    /// <summary>Whether to subtract <see cref="Mean"/> and divide by <see cref="Std"/> per channel (<c>do_normalize</c>).</summary>
    public bool Normalize { get; init; } = true;
    /// <summary>The rescale factor (<c>rescale_factor</c>, usually 1/255).</summary>
    public float RescaleFactor { get; init; } = 1f / 255f;
    /// <summary>Per-channel mean, R, G, B (<c>image_mean</c>).</summary>
    public IReadOnlyList<float> Mean { get; init; } = [0.48145466f, 0.4578275f, 0.40821073f];
    /// <summary>Per-channel standard deviation, R, G, B (<c>image_std</c>).</summary>
    public IReadOnlyList<float> Std { get; init; } = [0.26862954f, 0.26130258f, 0.27577711f];
    /// <summary>How the crop offset is rounded: the pack's own processor decides (Hugging Face floors, torchvision rounds).</summary>
    public CropAlignment Alignment { get; init; } = CropAlignment.Transformers;
}
