using System.Buffers;
using Microsoft.Extensions.AI;
using Omnivec.Imaging;
using Omnivec.Preprocessing;
using Omnivec.Models;
using Omnivec.Text;

namespace Omnivec.Onnx;

/// <summary>
/// A local two-tower model (CLIP, SigLIP or M-CLIP: see <see cref="ModelFamily"/>) run with ONNX Runtime: text and
/// images to vectors in one space, identical to the reference implementation. The family is read from the pack's own
/// files and decides the tokenizer, the padding and how scores read. One session per tower, loaded once and shared by
/// all callers; batches are split to the model's batch limit; vectors are L2-normalised unless
/// <see cref="OnnxModelOptions.Normalize"/> is off.
/// </summary>
/// <remarks>
/// The work is CPU-bound, so the <c>GenerateAsync</c> methods run synchronously on the calling thread; the
/// synchronous <c>EmbedTexts</c>, <c>EmbedImages</c> and <c>EmbedImageFiles</c> are the core methods.
/// </remarks>
public sealed class ClipEmbeddingGenerator : IMultimodalEmbeddingGenerator, IPerItemImageEmbedder, IImageFileEmbedder, IRgbImageEmbedder
{
    private readonly OnnxGeneratorCore _core;

    // The image tower loads on first use: a text search or a text-only service never pays for its ~350 MB
    // (ViT-B/32) or its load time. Failures are cached: a broken file stays an error, every time it is needed.
    private readonly Lazy<OnnxTower> _vision;
    private readonly ImageDecoder _decoder;
    private readonly ClipModelOptions _options;
    private readonly int _sequenceLength;

    // Whether text runs are trimmed to the longest text of the batch: asked for, possible (dynamic sequence axis) and
    // proven exact for this model by one probe at load (see TrimmedRunIsExact).
    private readonly bool _trimTextPadding;
    private bool _probingTrim;

    private ClipEmbeddingGenerator(ClipModelOptions options, string directory, ClipModelFiles files, ModelFamily family, OnnxTower text, string visionPath,
        ITextTokenizer tokenizer, ImagePreprocessor preprocessor, SigmoidScoreCalibration? calibration)
    {
        _options = options;
        Family = family;
        Calibration = calibration;
        _core = new OnnxGeneratorCore(typeof(ClipEmbeddingGenerator), options, text, tokenizer);
        _vision = new Lazy<OnnxTower>(() => LoadVision(visionPath), LazyThreadSafetyMode.ExecutionAndPublication);
        Preprocessor = preprocessor;
        Directory = directory;
        Layout = files.Kind;
        _decoder = new ImageDecoder(options.Decoder);
        _sequenceLength = text.FixedSequenceLength > 0 ? text.FixedSequenceLength : tokenizer.ContextLength;
        if (_sequenceLength != tokenizer.ContextLength)
        {
            throw new ModelConfigurationException(
                $"{text.Path}: the text model takes {_sequenceLength} tokens but the tokenizer's context length is {tokenizer.ContextLength}.");
        }

        if (text.Dimensions == 0)
        {
            // Dynamic output shape: one tiny run tells the embedding size.
            _ = EmbedTexts([""]);
        }

        _trimTextPadding = options.TrimTextPadding && text.FixedSequenceLength == 0 && TrimmedRunIsExact(text.CacheEntry);

        _core.Identify(directory, files, Modalities.Text | Modalities.Image, family);
    }

    /// <inheritdoc />
    public EmbeddingSpace Space => _core.Space;

    /// <summary>Whether text runs are trimmed to the longest text of a batch (false: always the full context).</summary>
    internal bool TrimsTextPadding => _trimTextPadding;

    /// <summary>What the optimized-model cache did for the text tower, and for the image tower once loaded (tests, diagnostics).</summary>
    internal (OptimizedModelCache.Outcome Text, OptimizedModelCache.Outcome? Vision) CacheOutcomes =>
        (_core.Text.CacheOutcome, _vision.IsValueCreated ? _vision.Value.CacheOutcome : null);

    /// <summary>The model folder the towers were loaded from.</summary>
    public string Directory { get; }

    /// <summary>Which packaging the folder uses.</summary>
    public ClipLayoutKind Layout { get; }

    /// <summary>The model family, read from the pack's files.</summary>
    public ModelFamily Family { get; }

    /// <summary>
    /// For sigmoid-trained families (SigLIP): the learned scale and bias that turn a cosine into a match probability,
    /// read from the pack's combined graph (onnx/model.onnx); null for CLIP-style models or when the pack lacks that graph.
    /// </summary>
    public SigmoidScoreCalibration? Calibration { get; }

    /// <summary>The model's tokenizer (<see cref="ClipTokenizer"/> or <see cref="SentencePieceTextTokenizer"/>).</summary>
    public ITextTokenizer Tokenizer => _core.Tokenizer;

    /// <summary>The model's image preprocessing.</summary>
    public ImagePreprocessor Preprocessor { get; }

    /// <summary>Embedding length.</summary>
    public int Dimensions => Space.Dimensions;

    /// <summary>Whether the image tower has been loaded (it loads on the first image unless configured otherwise).</summary>
    public bool IsVisionLoaded => _vision.IsValueCreated;

    /// <summary>Loads and checks the image tower now rather than on the first image.</summary>
    public void EnsureVisionLoaded() => _ = Vision;

    private OnnxTower Vision
    {
        get
        {
            _core.ThrowIfDisposed();
            return _vision.Value;
        }
    }

    /// <summary>Loads the image tower and checks it against the text tower and the preprocessing config.</summary>
    private OnnxTower LoadVision(string path)
    {
        OnnxExternalData.Check(path);
        OnnxTower vision = OnnxTower.Load(path, TowerKind.Vision, _options);
        try
        {
            if (vision.ImageHeight > 0 && (vision.ImageHeight != Preprocessor.OutputHeight || vision.ImageWidth != Preprocessor.OutputWidth))
            {
                throw new ModelConfigurationException(
                    $"{vision.Path}: the vision model takes {vision.ImageWidth}x{vision.ImageHeight} pixels but the preprocessing config produces {Preprocessor.OutputWidth}x{Preprocessor.OutputHeight}.");
            }

            if (vision.Dimensions == 0)
            {
                // Dynamic output shape: one run on a blank image tells the embedding size.
                float[] pixels = new float[Preprocessor.TensorLength];
                float[] output = new float[Math.Max(4096, Dimensions)];
                vision.RunVision(pixels, 1, Preprocessor.OutputHeight, Preprocessor.OutputWidth, output, CancellationToken.None);
            }

            if (vision.Dimensions != Dimensions)
            {
                throw new ModelConfigurationException(
                    $"Text and vision towers disagree on the embedding size ({Dimensions} vs {vision.Dimensions}) in {Directory}.");
            }

            return vision;
        }
        catch
        {
            vision.Dispose();
            throw;
        }
    }

    /// <summary>Loads the model in <paramref name="modelDirectory"/> (Transformers.js or Immich layout).</summary>
    public static ClipEmbeddingGenerator Load(string modelDirectory, ClipModelOptions? options = null)
    {
        options ??= new ClipModelOptions();
        ClipModelFiles files = OnnxGeneratorCore.SelectFiles(modelDirectory, options.Variant);
        if (files.Kind == ClipLayoutKind.TransformersJsAudio)
        {
            throw new ModelConfigurationException($"{modelDirectory} holds an audio model (CLAP: onnx/audio_model.onnx), not an image model; load it with ClapEmbeddingGenerator.");
        }

        ModelFamily family = ModelFamilyDetector.Detect(modelDirectory, files);
        // The tokenizer loads on another thread while the text tower's session is created here: the two longest parts
        // of a load, independent of each other. A tokenizer that fails to load is reported first, as when loaded alone.
        Task<ITextTokenizer> tokenizerLoad = Task.Factory.StartNew(() =>
        {
            using (OnnxTelemetry.Source.StartActivity("omnivec.tokenizer.load"))
            {
                return LoadTokenizer(modelDirectory, files, family);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        try
        {
            ImagePreprocessor preprocessor = ImagePreprocessor.FromDirectory(modelDirectory);
            SigmoidScoreCalibration? calibration = family == ModelFamily.Siglip ? ReadCalibration(modelDirectory, files) : null;
            string visionPath = Path.Combine(modelDirectory, files.VisionModel);
            if (!File.Exists(visionPath))
            {
                throw new ModelConfigurationException($"Vision model not found: {visionPath}");
            }

            return OnnxGeneratorCore.WithTextTower(modelDirectory, files, options, text =>
            {
                ITextTokenizer tokenizer = tokenizerLoad.GetAwaiter().GetResult();
                var generator = new ClipEmbeddingGenerator(options, modelDirectory, files, family, text, visionPath, tokenizer, preprocessor, calibration);
                if (!options.LoadVisionOnFirstUse)
                {
                    generator.EnsureVisionLoaded();
                }

                return generator;
            });
        }
        catch
        {
            // Never leave the tokenizer loading behind a failed load; its own failure is the one to report.
            try
            {
                tokenizerLoad.Wait(CancellationToken.None);
            }
            catch (AggregateException)
            {
                tokenizerLoad.GetAwaiter().GetResult();
            }

            throw;
        }
    }

    /// <summary>Loads the model named by <see cref="OnnxModelOptions.ModelDirectory"/>.</summary>
    public static ClipEmbeddingGenerator Load(ClipModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Load(options.ModelDirectory ?? throw new ModelConfigurationException("ClipModelOptions.ModelDirectory is not set."), options);
    }

    private static bool HasTokenizerFiles(string directory) =>
        File.Exists(Path.Combine(directory, "tokenizer.json")) || File.Exists(Path.Combine(directory, "vocab.json"))
        || SentencePieceTextTokenizer.ModelFileNames.Any(n => File.Exists(Path.Combine(directory, n)));

    private static ITextTokenizer LoadTokenizer(string modelDirectory, ClipModelFiles files, ModelFamily family)
    {
        string textDirectory = Path.Combine(modelDirectory, Path.GetDirectoryName(files.TextModel) ?? "");
        string tokenizerDirectory = files.Kind == ClipLayoutKind.Immich && System.IO.Directory.Exists(textDirectory) && HasTokenizerFiles(textDirectory)
            ? textDirectory
            : modelDirectory;
        return family switch
        {
            // SigLIP 2's fixed-resolution packs are SigLIP graphs with Gemma's tokenizer, named by tokenizer_config.json
            // (FromDirectory picks Gemma's rules then).
            ModelFamily.Siglip => SentencePieceTextTokenizer.FromDirectory(tokenizerDirectory, SentencePieceScheme.Siglip,
                files.Kind == ClipLayoutKind.Immich ? ImmichContextLength(modelDirectory) : null),
            // Immich pads M-CLIP text to text_cfg.context_length (77 when absent), not to XLM-R's 512.
            ModelFamily.MClip => SentencePieceTextTokenizer.FromDirectory(tokenizerDirectory, SentencePieceScheme.XlmRoberta,
                files.Kind == ClipLayoutKind.Immich ? ImmichContextLength(modelDirectory) ?? 77 : null),
            // OpenCLIP's NLLB-CLIP pads to text_cfg.context_length (77 when absent) as well.
            ModelFamily.NllbClip => SentencePieceTextTokenizer.FromDirectory(tokenizerDirectory, SentencePieceScheme.Nllb,
                files.Kind == ClipLayoutKind.Immich ? ImmichContextLength(modelDirectory) ?? 77 : null),
            _ => ClipTokenizer.FromDirectory(tokenizerDirectory),
        };
    }

    private static int? ImmichContextLength(string modelDirectory)
    {
        string path = Path.Combine(modelDirectory, "config.json");
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && doc.RootElement.TryGetProperty("text_cfg", out var cfg) && cfg.ValueKind == System.Text.Json.JsonValueKind.Object
                && cfg.TryGetProperty("context_length", out var c) && c.TryGetInt32(out int length) && length is >= 4 and <= 65536
                ? length
                : null;
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new ModelConfigurationException($"{path} is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>SigLIP's logit_scale and logit_bias: weights of the combined graph (onnx/model.onnx), when the pack has it.</summary>
    private static SigmoidScoreCalibration? ReadCalibration(string modelDirectory, ClipModelFiles files)
    {
        string path = Path.Combine(modelDirectory, Path.GetDirectoryName(files.TextModel) ?? "", "model.onnx");
        if (files.Kind != ClipLayoutKind.TransformersJs || !File.Exists(path))
        {
            return null;
        }

        Dictionary<string, float> values = OnnxInitializers.ReadScalars(path, ["logit_scale", "logit_bias"]);
        if (!values.TryGetValue("logit_scale", out float scale) || !values.TryGetValue("logit_bias", out float bias))
        {
            throw new ModelConfigurationException($"{path}: the combined graph has no scalar logit_scale and logit_bias weights.");
        }

        if (!float.IsFinite(scale) || !float.IsFinite(bias) || scale > 20)
        {
            throw new ModelConfigurationException($"{path}: logit_scale {scale} / logit_bias {bias} are not usable values.");
        }

        return new SigmoidScoreCalibration(scale, bias);
    }

    /// <summary>Embeds texts; one vector per text, in order. Texts longer than the context are truncated, as the reference does.</summary>
    public float[][] EmbedTexts(IReadOnlyList<string> texts, CancellationToken cancellationToken = default) =>
        _core.EmbedTexts(texts, _sequenceLength, TrimmedLength, cancellationToken);

    /// <summary>Embeds decoded images (already upright RGB); one vector per image, in order.</summary>
    public float[][] EmbedImages(IReadOnlyList<RgbImage> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        _core.ThrowIfDisposed();
        using System.Diagnostics.Activity? activity = OnnxTelemetry.StartEmbed("image", images.Count, _core.SpaceOrNull);
        var results = new float[images.Count][];
        int maxBatch = MaxBatch(Vision);
        int length = Preprocessor.TensorLength;
        float[] pixels = ArrayPool<float>.Shared.Rent(Math.Min(maxBatch, Math.Max(images.Count, 1)) * length);
        float[]? output = null;
        try
        {
            for (int start = 0; start < images.Count; start += maxBatch)
            {
                int batch = Math.Min(maxBatch, images.Count - start);
                ParallelFor(batch, b => Preprocessor.Preprocess(images[start + b], pixels.AsSpan(b * length, length)), cancellationToken);
                output = RunVision(pixels, batch, output, cancellationToken);
                _core.CopyOut(output, batch, Vision.Dimensions, results, start);
            }

            return results;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(pixels);
            if (output is not null)
            {
                ArrayPool<float>.Shared.Return(output);
            }
        }
    }

    /// <summary>
    /// Decodes, preprocesses and embeds encoded images (JPEG, PNG, HEIC, …). Each input succeeds or fails on its own:
    /// a corrupt or oversized image yields an <see cref="EmbeddingOutcome"/> with its typed error and the rest still embed.
    /// </summary>
    public IReadOnlyList<EmbeddingOutcome> EmbedImages(IReadOnlyList<ReadOnlyMemory<byte>> encodedImages, IReadOnlyList<string?>? sources = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encodedImages);
        return EmbedDecoded(encodedImages.Count, i => _decoder.Decode(encodedImages[i].Span, sources?[i], Preprocessor.TargetShortSide, cancellationToken), cancellationToken);
    }

    /// <summary>Reads and embeds image files; each file succeeds or fails on its own (missing, unreadable, corrupt).</summary>
    public IReadOnlyList<EmbeddingOutcome> EmbedImageFiles(IReadOnlyList<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return EmbedDecoded(paths.Count, i =>
        {
            string path = paths[i];
            if (!File.Exists(path))
            {
                throw new InvalidInputException($"{path}: file not found");
            }

            try
            {
                return _decoder.DecodeFile(path, Preprocessor.TargetShortSide, cancellationToken);
            }
            catch (IOException ex)
            {
                throw new InvalidInputException($"{path}: cannot read file: {ex.Message}", ex);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new InvalidInputException($"{path}: cannot read file: {ex.Message}", ex);
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    public IReadOnlyList<EmbeddingOutcome> EmbedEach(IReadOnlyList<DataContent> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        return EmbedImages(images.Select(i => i.Data).ToArray(), images.Select(i => i.Name).ToArray(), cancellationToken);
    }

    private EmbeddingOutcome[] EmbedDecoded(int count, Func<int, RgbImage> decode, CancellationToken cancellationToken)
    {
        _core.ThrowIfDisposed();
        using System.Diagnostics.Activity? activity = OnnxTelemetry.StartEmbed("image", count, _core.SpaceOrNull);
        var outcomes = new EmbeddingOutcome[count];
        int maxBatch = MaxBatch(Vision);
        int length = Preprocessor.TensorLength;
        int chunk = Math.Min(maxBatch, Math.Max(count, 1));
        float[] pixels = ArrayPool<float>.Shared.Rent(chunk * length);
        float[]? output = null;
        var errors = new OmnivecException?[chunk];
        var slots = new int[chunk];
        try
        {
            for (int start = 0; start < count; start += maxBatch)
            {
                int batch = Math.Min(maxBatch, count - start);
                Array.Clear(errors);
                // Decode into per-input slots in parallel; failures are recorded, not thrown.
                ParallelFor(batch, b =>
                {
                    try
                    {
                        using RgbImage image = decode(start + b);
                        Preprocessor.Preprocess(image, pixels.AsSpan(b * length, length));
                    }
                    catch (OmnivecException ex)
                    {
                        errors[b] = ex;
                    }
                }, cancellationToken);

                // Compact the good slots so the model only sees real images.
                int good = 0;
                for (int b = 0; b < batch; b++)
                {
                    if (errors[b] is not null)
                    {
                        outcomes[start + b] = new EmbeddingOutcome(null, errors[b]);
                        continue;
                    }

                    if (good != b)
                    {
                        pixels.AsSpan(b * length, length).CopyTo(pixels.AsSpan(good * length, length));
                    }

                    slots[good++] = b;
                }

                if (good == 0)
                {
                    continue;
                }

                output = RunVision(pixels, good, output, cancellationToken);
                int dims = Vision.Dimensions;
                for (int g = 0; g < good; g++)
                {
                    outcomes[start + slots[g]] = new EmbeddingOutcome(_core.ToEmbedding(_core.ToVector(output.AsSpan(g * dims, dims))), null);
                }
            }

            return outcomes;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(pixels);
            if (output is not null)
            {
                ArrayPool<float>.Shared.Return(output);
            }
        }
    }

    private float[] RunVision(float[] pixels, int batch, float[]? output, CancellationToken cancellationToken)
    {
        int needed = batch * (Vision.Dimensions > 0 ? Vision.Dimensions : 4096);
        if (output is null || output.Length < needed)
        {
            if (output is not null)
            {
                ArrayPool<float>.Shared.Return(output);
            }

            output = ArrayPool<float>.Shared.Rent(needed);
        }

        Vision.RunVision(pixels, batch, Preprocessor.OutputHeight, Preprocessor.OutputWidth, output, cancellationToken);
        return output;
    }

    /// <summary>
    /// The token width a run needs. CLIP's text tower is causal and pools at the end token, so padding after the longest
    /// text's end token cannot change any output: graphs with a dynamic sequence axis run on the trimmed width, which
    /// turns a 77-token run for "a dog" into a 4-token one. Graphs fixed at the context length keep it.
    /// </summary>
    private int TrimmedLength(ReadOnlySpan<int> lengths, int contextLength)
    {
        // SigLIP's text tower attends over every position without a mask and pools the last one: it needs the full width.
        if ((!_trimTextPadding && !_probingTrim) || Family == ModelFamily.Siglip
            || (Family is ModelFamily.MClip or ModelFamily.NllbClip && _core.Text.MaskName is null))
        {
            return contextLength;
        }

        int longest = 1;
        foreach (int length in lengths)
        {
            longest = Math.Max(longest, length);
        }

        return Math.Min(longest, contextLength);
    }

    /// <summary>
    /// Whether this text tower really runs on fewer tokens than its context. Some exports (OpenAI's own code) declare
    /// a dynamic sequence axis but add a fixed 77-position embedding and causal mask, so a trimmed run fails to
    /// broadcast, and a graph could also quietly compute something else. One probe at load compares a trimmed run
    /// with a full-context run; if it fails or differs, this model always runs the full context.
    /// </summary>
    /// <summary>
    /// The probe's verdict, kept in the text tower's optimized-model cache entry when there is one: the verdict is a
    /// property of the graph, and the probe's full-context run is the slowest part of a cached load.
    /// </summary>
    private bool TrimmedRunIsExact(string? cacheEntry)
    {
        const string Note = "trim-probe";
        string? known = cacheEntry is null ? null : OptimizedModelCache.ReadNote(cacheEntry, Note);
        if (known is "exact" or "inexact")
        {
            return known == "exact";
        }

        bool exact = TrimmedRunIsExact();
        if (cacheEntry is not null)
        {
            OptimizedModelCache.WriteNote(cacheEntry, Note, exact ? "exact" : "inexact");
        }

        return exact;
    }

    private bool TrimmedRunIsExact()
    {
        string[] probe = ["a photo of a dog"];
        using System.Diagnostics.Activity? activity = OnnxTelemetry.Source.StartActivity("omnivec.model.probe");
        float[] full = EmbedTexts(probe)[0];
        _probingTrim = true;
        try
        {
            float[] trimmed = EmbedTexts(probe)[0];
            return VectorMath.Cosine(full, trimmed) >= 0.99999f;
        }
        catch (ModelConfigurationException)
        {
            return false;
        }
        finally
        {
            _probingTrim = false;
        }
    }

    private int MaxBatch(OnnxTower tower) => _core.MaxBatch(tower);

    private void ParallelFor(int count, Action<int> body, CancellationToken cancellationToken)
    {
        int parallelism = _options.DecodeParallelism > 0 ? _options.DecodeParallelism : Environment.ProcessorCount;
        if (count == 1 || parallelism == 1)
        {
            for (int i = 0; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                body(i);
            }

            return;
        }

        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, body);
    }

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default) =>
        _core.GenerateTexts(values, options, EmbedTexts, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Any input that cannot be embedded fails the whole call with its typed error; use <see cref="EmbedImages(IReadOnlyList{ReadOnlyMemory{byte}}, IReadOnlyList{string}, CancellationToken)"/> to get per-input outcomes.</remarks>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        _core.CheckDimensions(options);
        DataContent[] contents = values as DataContent[] ?? values.ToArray();
        var payloads = new ReadOnlyMemory<byte>[contents.Length];
        var names = new string?[contents.Length];
        for (int i = 0; i < contents.Length; i++)
        {
            DataContent content = contents[i] ?? throw new InvalidInputException($"Image {i} is null.");
            if (!content.HasTopLevelMediaType("image") && !string.Equals(content.MediaType, "application/octet-stream", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidInputException($"Input {i} has media type '{content.MediaType}'; this model embeds text and images only.");
            }

            payloads[i] = content.Data;
            names[i] = content.Name ?? $"image {i}";
        }

        IReadOnlyList<EmbeddingOutcome> outcomes = EmbedImages(payloads, names, cancellationToken);
        var result = new GeneratedEmbeddings<Embedding<float>>(outcomes.Count);
        foreach (EmbeddingOutcome outcome in outcomes)
        {
            if (outcome.Error is not null)
            {
                throw outcome.Error;
            }

            result.Add(outcome.Embedding!);
        }

        return Task.FromResult(result);
    }

    /// <inheritdoc />
    /// <summary>
    /// The standard answers (metadata, space, this generator and its capabilities), plus its tokenizer
    /// (<see cref="ITextTokenizer"/>, or <see cref="ClipTokenizer"/> for CLIP packs), for SigLIP packs whose combined
    /// graph is present the <see cref="SigmoidScoreCalibration"/>, and for packs that take a query language (NLLB-CLIP)
    /// its <see cref="TextLanguages"/>.
    /// </summary>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(SigmoidScoreCalibration) ? Calibration
        : serviceKey is null && serviceType == typeof(TextLanguages) ? (Tokenizer as SentencePieceTextTokenizer)?.Languages
        : _core.GetService(this, serviceType, serviceKey);

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_core.Dispose())
        {
            return;
        }

        if (_vision.IsValueCreated)
        {
            _vision.Value.Dispose();
        }
    }
}
