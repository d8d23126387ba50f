using System.Buffers;

namespace Omnivec.Preprocessing;

/// <summary>
/// CLIP image preprocessing identical to the Python references: Pillow bicubic or bilinear resize (bit-exact), centre crop, rescale and
/// normalise, written as planar float32 (CHW) for one image. Immutable and thread-safe; buffers are pooled per call.
/// </summary>
public sealed class ImagePreprocessor
{
    private readonly float[] _lut; // [channel * 256 + value] → normalised float, so the per-pixel work is one lookup

    /// <summary>Creates a preprocessor for the given settings (validated here).</summary>
    public ImagePreprocessor(ImagePreprocessorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Validate(settings);
        Settings = settings;
        (OutputWidth, OutputHeight) = settings.CenterCrop
            ? (settings.CropWidth, settings.CropHeight)
            : (settings.ResizeWidth, settings.ResizeHeight);
        TargetShortSide = !settings.Resize ? 0 : settings.ShortestEdge > 0 ? settings.ShortestEdge : Math.Max(settings.ResizeWidth, settings.ResizeHeight);
        _lut = new float[3 * 256];
        for (int c = 0; c < 3; c++)
        {
            for (int v = 0; v < 256; v++)
            {
                double x = settings.Rescale ? v * (double)settings.RescaleFactor : v;
                if (settings.Normalize)
                {
                    x = (x - settings.Mean[c]) / settings.Std[c];
                }

                _lut[c * 256 + v] = (float)x;
            }
        }
    }

    /// <summary>
    /// Reads <c>preprocessor_config.json</c> (Hugging Face / Transformers.js) from the folder, else <c>preprocess_cfg.json</c>
    /// (OpenCLIP / Immich) from the folder or its <c>visual/</c> subfolder.
    /// </summary>
    public static ImagePreprocessor FromDirectory(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        string[] candidates =
        [
            Path.Combine(modelDirectory, PreprocessorConfig.HuggingFaceFileName),
            Path.Combine(modelDirectory, PreprocessorConfig.OpenClipFileName),
            Path.Combine(modelDirectory, "visual", PreprocessorConfig.OpenClipFileName),
        ];
        foreach (string path in candidates)
        {
            if (File.Exists(path))
            {
                return FromJson(File.ReadAllText(path), Path.GetFileName(path));
            }
        }

        throw new ModelConfigurationException(
            $"No image preprocessing configuration in {modelDirectory}: expected {PreprocessorConfig.HuggingFaceFileName} or {PreprocessorConfig.OpenClipFileName} (also looked in visual/).");
    }

    /// <summary>Parses a configuration; <paramref name="fileName"/> (e.g. "preprocessor_config.json") selects the dialect.</summary>
    public static ImagePreprocessor FromJson(string json, string fileName) => new(PreprocessorConfig.Parse(json, fileName));

    /// <summary>The settings this preprocessor applies.</summary>
    public ImagePreprocessorSettings Settings { get; }
    /// <summary>Width of the tensor it produces, in pixels.</summary>
    public int OutputWidth { get; }
    /// <summary>Height of the tensor it produces, in pixels.</summary>
    public int OutputHeight { get; }

    /// <summary>3 × <see cref="OutputHeight"/> × <see cref="OutputWidth"/>.</summary>
    public int TensorLength => 3 * OutputWidth * OutputHeight;

    /// <summary>The short side the resize aims at (0 without resizing): the decoder's hint for reduced JPEG decoding.</summary>
    public int TargetShortSide { get; }

    /// <summary>Writes the model input for <paramref name="image"/> as planar R, G, B float planes into <paramref name="destinationChw"/>.</summary>
    public void Preprocess(RgbImage image, Span<float> destinationChw)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (destinationChw.Length < TensorLength)
        {
            throw new ArgumentException($"Destination holds {destinationChw.Length} floats; {TensorLength} are needed.", nameof(destinationChw));
        }

        int plane = OutputWidth * OutputHeight;
        byte[] rgb = ArrayPool<byte>.Shared.Rent(plane * 3);
        try
        {
            ResizeAndCrop(image, rgb.AsSpan(0, plane * 3));
            ReadOnlySpan<byte> src = rgb.AsSpan(0, plane * 3);
            ReadOnlySpan<float> lutR = _lut.AsSpan(0, 256), lutG = _lut.AsSpan(256, 256), lutB = _lut.AsSpan(512, 256);
            Span<float> r = destinationChw[..plane], g = destinationChw.Slice(plane, plane), b = destinationChw.Slice(2 * plane, plane);
            for (int i = 0, s = 0; i < plane; i++, s += 3)
            {
                r[i] = lutR[src[s]];
                g[i] = lutG[src[s + 1]];
                b[i] = lutB[src[s + 2]];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgb);
        }
    }

    /// <summary>
    /// The 8-bit result of resize + crop (interleaved RGB, <see cref="OutputWidth"/> × <see cref="OutputHeight"/>): what Pillow
    /// produces before the float conversion. Exposed to tests for pixel-exact comparison.
    /// </summary>
    internal void ResizeAndCrop(RgbImage image, Span<byte> destinationRgb)
    {
        ImagePreprocessorSettings s = Settings;
        int w = image.Width, h = image.Height;
        (int rw, int rh) = ResizedSize(w, h);
        int cw = OutputWidth, ch = OutputHeight;
        int left = 0, top = 0;
        if (s.CenterCrop)
        {
            left = CropOffset(rw, cw, s.Alignment);
            top = CropOffset(rh, ch, s.Alignment);
        }

        // The part of the resized image the crop covers; anything outside it is padding (zeros, as both references pad).
        int x0 = Math.Max(left, 0), x1 = Math.Min(left + cw, rw);
        int y0 = Math.Max(top, 0), y1 = Math.Min(top + ch, rh);
        Span<byte> dst = destinationRgb[..(cw * ch * 3)];
        if (x0 != left || y0 != top || x1 != left + cw || y1 != top + ch)
        {
            dst.Clear();
        }

        int cols = x1 - x0, rows = y1 - y0;
        if (cols <= 0 || rows <= 0)
        {
            return;
        }

        bool horizontal = rw != w, vertical = rh != h;
        PillowResample.Coefficients hc = horizontal ? PillowResample.Compute(w, rw, x0, cols, s.Resample) : default;
        PillowResample.Coefficients vc = vertical ? PillowResample.Compute(h, rh, y0, rows, s.Resample) : default;
        byte[]? temp = null;
        int[]? acc = null;
        int[]? widened = null;
        try
        {
            // Source rows the vertical pass reads (all of them feed the horizontal pass first, as in Pillow).
            int sy0 = vertical ? vc.Starts[0] : y0;
            int sy1 = vertical ? vc.Starts[rows - 1] + vc.Lengths[rows - 1] : y1;
            for (int i = 0; vertical && i < rows; i++)
            {
                sy0 = Math.Min(sy0, vc.Starts[i]);
                sy1 = Math.Max(sy1, vc.Starts[i] + vc.Lengths[i]);
            }

            int rowBytes = cols * 3;
            temp = ArrayPool<byte>.Shared.Rent((sy1 - sy0) * rowBytes);
            ReadOnlySpan<byte> pixels = image.Pixels;
            int stride = image.Stride;
            if (horizontal)
            {
                widened = ArrayPool<int>.Shared.Rent(stride + 24); // + one block: vector reads may run past the last window
            }

            for (int y = sy0; y < sy1; y++)
            {
                ReadOnlySpan<byte> srcRow = pixels.Slice(y * stride, stride);
                Span<byte> tempRow = temp.AsSpan((y - sy0) * rowBytes, rowBytes);
                if (horizontal)
                {
                    PillowResample.HorizontalRow(srcRow, tempRow, hc, cols, widened);
                }
                else
                {
                    srcRow.Slice(x0 * 3, rowBytes).CopyTo(tempRow);
                }
            }

            if (vertical)
            {
                acc = ArrayPool<int>.Shared.Rent(rowBytes);
            }

            ReadOnlySpan<byte> tempSpan = temp.AsSpan(0, (sy1 - sy0) * rowBytes);
            for (int i = 0; i < rows; i++)
            {
                Span<byte> outRow = dst.Slice(((y0 + i - top) * cw + (x0 - left)) * 3, rowBytes);
                if (vertical)
                {
                    PillowResample.VerticalRow(tempSpan, rowBytes, sy0, outRow, vc, i, acc);
                }
                else
                {
                    tempSpan.Slice((y0 + i - sy0) * rowBytes, rowBytes).CopyTo(outRow);
                }
            }
        }
        finally
        {
            if (horizontal)
            {
                hc.Dispose();
            }

            if (vertical)
            {
                vc.Dispose();
            }

            if (temp is not null)
            {
                ArrayPool<byte>.Shared.Return(temp);
            }

            if (acc is not null)
            {
                ArrayPool<int>.Shared.Return(acc);
            }

            if (widened is not null)
            {
                ArrayPool<int>.Shared.Return(widened);
            }
        }
    }

    /// <summary>Size after the resize step, computed as transformers' get_resize_output_image_size and torchvision's Resize(int) do.</summary>
    internal (int Width, int Height) ResizedSize(int width, int height)
    {
        ImagePreprocessorSettings s = Settings;
        if (!s.Resize)
        {
            return (width, height);
        }

        if (s.ShortestEdge <= 0)
        {
            return (s.ResizeWidth, s.ResizeHeight);
        }

        // Python: new_long = int(size * long / short), a true division of the integer product, then truncation.
        int shortSide = Math.Min(width, height), longSide = Math.Max(width, height);
        int newLong = (int)((double)((long)s.ShortestEdge * longSide) / shortSide);
        return width <= height ? (s.ShortestEdge, newLong) : (newLong, s.ShortestEdge);
    }

    /// <summary>Offset of the crop in the resized image (negative when the crop is larger, i.e. padding).</summary>
    internal static int CropOffset(int size, int crop, CropAlignment alignment)
    {
        int margin = size - crop;
        if (alignment == CropAlignment.TorchVision)
        {
            // torchvision pads (crop - size) // 2 before, then crops at round(margin / 2) with Python's round (half to even).
            return margin >= 0 ? (int)Math.Round(margin / 2.0, MidpointRounding.ToEven) : -((-margin) / 2);
        }

        // transformers: top = margin // 2 when it fits; when padding, the image sits ceil(-margin / 2) from the edge.
        return margin >= 0 ? margin / 2 : -((-margin + 1) / 2);
    }

    private static void Validate(ImagePreprocessorSettings s)
    {
        static ModelConfigurationException Bad(string what) => new("Invalid image preprocessing settings: " + what);
        if (s.Resize && s.ShortestEdge <= 0 && (s.ResizeWidth <= 0 || s.ResizeHeight <= 0))
        {
            throw Bad("resizing needs a positive shortest edge or a positive width and height.");
        }

        if (s.CenterCrop && (s.CropWidth <= 0 || s.CropHeight <= 0))
        {
            throw Bad($"crop size {s.CropWidth}x{s.CropHeight} must be positive.");
        }

        if (!s.CenterCrop && (!s.Resize || s.ShortestEdge > 0))
        {
            throw Bad("without a centre crop the output size would depend on the image; a crop or a fixed resize size is required.");
        }

        if (s.Rescale && !(float.IsFinite(s.RescaleFactor) && s.RescaleFactor > 0))
        {
            throw Bad($"rescale factor {s.RescaleFactor} must be a positive number.");
        }

        if (s.Normalize)
        {
            if (s.Mean is not { Count: 3 } || s.Std is not { Count: 3 })
            {
                throw Bad("mean and std need exactly 3 values (R, G, B).");
            }

            for (int c = 0; c < 3; c++)
            {
                if (!float.IsFinite(s.Mean[c]) || !float.IsFinite(s.Std[c]) || s.Std[c] == 0f)
                {
                    throw Bad($"mean {s.Mean[c]} / std {s.Std[c]} of channel {c} must be finite with a non-zero std.");
                }
            }
        }
    }
}
