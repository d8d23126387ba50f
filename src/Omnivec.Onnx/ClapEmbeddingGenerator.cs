using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Omnivec.Media;
using Omnivec.Models;
using Omnivec.Preprocessing;
using Omnivec.Text;

namespace Omnivec.Onnx;

/// <summary>How a local CLAP (audio-text) model is loaded and run.</summary>
public sealed class ClapModelOptions
{
    /// <summary>Model folder (Transformers.js layout: onnx/audio_model.onnx, onnx/text_model.onnx).</summary>
    public string? ModelDirectory { get; set; }

    /// <summary>Which ONNX files to load where the folder has several (fp32, fp16, quantized).</summary>
    public ModelVariant Variant { get; set; } = ModelVariant.Fp32;

    /// <summary>Identity recorded in <see cref="EmbeddingSpace"/>: the Hub repo id, or the folder name when null.</summary>
    public string? ModelId { get; set; }

    /// <summary>Revision (commit) of the weights; a hash of the ONNX files when null.</summary>
    public string? Revision { get; set; }

    /// <summary>L2-normalise every vector (the default; CLAP similarity is cosine).</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>Threads ONNX Runtime uses inside one model run; 0 means one per core.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Largest batch of texts or audio windows sent to the model in one run.</summary>
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>
    /// Seconds between the starts of consecutive windows of long audio; 0 (the default) means one window length (no
    /// overlap). Must not exceed the window length.
    /// </summary>
    public double WindowHopSeconds { get; set; }

    /// <summary>Where FFmpeg lives and the limits on audio files.</summary>
    public FfmpegOptions Ffmpeg { get; set; } = new();
}

/// <summary>
/// A local CLAP model (LAION's audio-text model, Transformers.js packaging such as Xenova/clap-htsat-unfused) run with
/// ONNX Runtime: texts and audio to vectors in one space. Features are computed exactly as Hugging Face's
/// <c>ClapFeatureExtractor</c> (<see cref="ClapFeatureExtractor"/>); text goes through the pack's RoBERTa tokenizer
/// (<see cref="RobertaTokenizer"/>). Long audio is embedded window by window (<see cref="IAudioFileEmbedder"/>); as an
/// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of <see cref="DataContent"/>, one audio input gives one vector:
/// its single window's, or the normalised mean of its windows' vectors.
/// </summary>
public sealed class ClapEmbeddingGenerator : IMultimodalEmbeddingGenerator, IAudioFileEmbedder
{
    private readonly OnnxTower _text;
    private readonly OnnxTower _audio;
    private readonly ClapModelOptions _options;
    private readonly AudioReader _reader;
    private readonly EmbeddingGeneratorMetadata _metadata;
    private readonly int _hopSamples;
    private int _disposed;

    private ClapEmbeddingGenerator(ClapModelOptions options, string directory, ClipModelFiles files, OnnxTower text, OnnxTower audio,
        RobertaTokenizer tokenizer, ClapFeatureExtractor features)
    {
        _options = options;
        _text = text;
        _audio = audio;
        Tokenizer = tokenizer;
        Features = features;
        Directory = directory;
        _reader = new AudioReader(options.Ffmpeg);
        ClapFeatureSettings s = features.Settings;
        if ((audio.ImageHeight > 0 && audio.ImageHeight != s.FrameCount) || (audio.ImageWidth > 0 && audio.ImageWidth != s.FeatureSize))
        {
            throw new ModelConfigurationException(
                $"{audio.Path}: the audio model takes [{audio.ImageHeight} frames, {audio.ImageWidth} mel bands] but {ClapFeatureSettings.FileName} produces [{s.FrameCount}, {s.FeatureSize}].");
        }

        double hop = options.WindowHopSeconds <= 0 ? s.WindowSeconds : options.WindowHopSeconds;
        if (hop > s.WindowSeconds + 1e-9)
        {
            throw new ModelConfigurationException($"WindowHopSeconds {hop} is longer than one window ({s.WindowSeconds} s).");
        }

        _hopSamples = Math.Clamp((int)Math.Round(hop * s.SamplingRate), 1, s.MaxSamples);

        if (text.Dimensions == 0)
        {
            _ = EmbedTexts([""]);
        }

        if (audio.Dimensions == 0)
        {
            _ = EmbedClips([new float[1]]);
        }

        if (text.Dimensions != audio.Dimensions)
        {
            throw new ModelConfigurationException($"Text and audio towers disagree on the embedding size ({text.Dimensions} vs {audio.Dimensions}) in {directory}.");
        }

        var identity = ModelIdentity.Resolve(directory, files, options.ModelId, options.Revision);
        Space = new EmbeddingSpace("local", identity.ModelId, identity.Revision, text.Dimensions)
        {
            Modalities = Modalities.Text | Modalities.Audio,
            Family = ModelFamilyDetector.Name(ModelFamily.Clap),
        };
        _metadata = new EmbeddingGeneratorMetadata("omnivec-onnx", new Uri(Path.GetFullPath(directory) + Path.DirectorySeparatorChar), identity.ModelId, text.Dimensions);
    }

    /// <inheritdoc />
    public EmbeddingSpace Space { get; }

    /// <summary>The model folder.</summary>
    public string Directory { get; }

    /// <summary>The pack's RoBERTa tokenizer.</summary>
    public RobertaTokenizer Tokenizer { get; }

    /// <summary>The pack's feature extraction.</summary>
    public ClapFeatureExtractor Features { get; }

    /// <summary>Embedding length.</summary>
    public int Dimensions => Space.Dimensions;

    /// <inheritdoc />
    public double WindowSeconds => Features.Settings.WindowSeconds;

    /// <summary>True when the folder holds a CLAP pack (onnx/audio_model.onnx beside onnx/text_model.onnx).</summary>
    public static bool IsClapPack(string modelDirectory, ModelVariant variant = ModelVariant.Fp32)
    {
        try
        {
            return System.IO.Directory.Exists(modelDirectory)
                && ClipModelLayout.SelectFromDirectory(modelDirectory, variant).Kind == ClipLayoutKind.TransformersJsAudio;
        }
        catch (ModelConfigurationException)
        {
            return false;
        }
    }

    /// <summary>Loads the CLAP pack in <paramref name="modelDirectory"/>.</summary>
    /// <exception cref="ModelConfigurationException">Not a CLAP pack, the fusion variant, missing or broken files, settings not implemented.</exception>
    public static ClapEmbeddingGenerator Load(string modelDirectory, ClapModelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        options ??= new ClapModelOptions();
        if (!System.IO.Directory.Exists(modelDirectory))
        {
            throw new ModelConfigurationException($"Model folder not found: {modelDirectory}");
        }

        ClipModelFiles files = ClipModelLayout.SelectFromDirectory(modelDirectory, options.Variant);
        if (files.Kind != ClipLayoutKind.TransformersJsAudio)
        {
            throw new ModelConfigurationException($"{modelDirectory} is not a CLAP pack (no onnx/audio_model.onnx beside onnx/text_model.onnx).");
        }

        int? maxPositions = CheckConfig(modelDirectory);
        ClapFeatureExtractor features = ClapFeatureExtractor.FromDirectory(modelDirectory);
        RobertaTokenizer tokenizer = RobertaTokenizer.FromDirectory(modelDirectory, maxPositions);
        OnnxExternalData.Check(Path.Combine(modelDirectory, files.TextModel));
        OnnxExternalData.Check(Path.Combine(modelDirectory, files.VisionModel));
        OnnxTower? text = null;
        OnnxTower? audio = null;
        try
        {
            text = OnnxTower.Load(Path.Combine(modelDirectory, files.TextModel), TowerKind.Text, options.IntraOpThreads);
            audio = OnnxTower.Load(Path.Combine(modelDirectory, files.VisionModel), TowerKind.Audio, options.IntraOpThreads);
            return new ClapEmbeddingGenerator(options, modelDirectory, files, text, audio, tokenizer, features);
        }
        catch
        {
            text?.Dispose();
            audio?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// config.json, when present, must say <c>model_type: clap</c> and no fusion; returns the text tower's usable positions
    /// (<c>text_config.max_position_embeddings</c> − 2, RoBERTa's offset) when it says.
    /// </summary>
    private static int? CheckConfig(string directory)
    {
        string path = Path.Combine(directory, "config.json");
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ModelConfigurationException($"{path} must contain a JSON object.");
            }

            if (root.TryGetProperty("model_type", out JsonElement type) && type.ValueKind == JsonValueKind.String && type.GetString() != "clap")
            {
                throw new ModelConfigurationException($"{path}: model_type \"{type.GetString()}\" is not a CLAP model.");
            }

            if (root.TryGetProperty("audio_config", out JsonElement audio) && audio.ValueKind == JsonValueKind.Object
                && audio.TryGetProperty("enable_fusion", out JsonElement fusion) && fusion.ValueKind == JsonValueKind.True)
            {
                throw new ModelConfigurationException($"{path}: audio_config.enable_fusion is true: the fusion variant of CLAP is not implemented; use an unfused pack such as Xenova/clap-htsat-unfused.");
            }

            return root.TryGetProperty("text_config", out JsonElement textConfig) && textConfig.ValueKind == JsonValueKind.Object
                && textConfig.TryGetProperty("max_position_embeddings", out JsonElement max) && max.TryGetInt32(out int positions) && positions > 6
                ? positions - 2
                : null;
        }
        catch (JsonException ex)
        {
            throw new ModelConfigurationException($"{path} is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Embeds texts; one vector per text, in order (texts longer than the tokenizer's limit are truncated).</summary>
    public float[][] EmbedTexts(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ThrowIfDisposed();
        var results = new float[texts.Count][];
        int maxBatch = MaxBatch(_text);
        int seq = Tokenizer.ContextLength;
        long[] ids = ArrayPool<long>.Shared.Rent(maxBatch * seq);
        int[] lengths = ArrayPool<int>.Shared.Rent(maxBatch);
        float[] output = ArrayPool<float>.Shared.Rent(maxBatch * (_text.Dimensions > 0 ? _text.Dimensions : 4096));
        try
        {
            for (int start = 0; start < texts.Count; start += maxBatch)
            {
                int batch = Math.Min(maxBatch, texts.Count - start);
                int longest = 2;
                for (int b = 0; b < batch; b++)
                {
                    string text = texts[start + b] ?? throw new InvalidInputException($"Text {start + b} is null.");
                    lengths[b] = Tokenizer.Encode(text, ids.AsSpan(b * seq, seq));
                    longest = Math.Max(longest, lengths[b]);
                }

                // RoBERTa masks padding and derives positions from it, so the batch runs only as wide as its longest text.
                int width = _text.FixedSequenceLength > 0 ? _text.FixedSequenceLength : longest;
                for (int b = 1; b < batch; b++)
                {
                    ids.AsSpan(b * seq, width).CopyTo(ids.AsSpan(b * width, width));
                }

                _text.RunText(ids.AsSpan(0, batch * width), lengths.AsSpan(0, batch), batch, width, output, cancellationToken);
                CopyOut(output, batch, _text.Dimensions, results, start);
            }

            return results;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(ids);
            ArrayPool<int>.Shared.Return(lengths);
            ArrayPool<float>.Shared.Return(output);
        }
    }

    /// <summary>
    /// Embeds clips of mono samples at the model's rate (<see cref="ClapFeatureSettings.SamplingRate"/>), each at most
    /// one window long (shorter ones are padded as the reference does); one vector per clip, in order.
    /// </summary>
    public float[][] EmbedClips(IReadOnlyList<float[]> clips, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clips);
        ThrowIfDisposed();
        var results = new float[clips.Count][];
        int maxBatch = MaxBatch(_audio);
        int length = Features.FeatureLength;
        ClapFeatureSettings s = Features.Settings;
        float[] features = ArrayPool<float>.Shared.Rent(Math.Min(maxBatch, Math.Max(clips.Count, 1)) * length);
        float[] output = ArrayPool<float>.Shared.Rent(maxBatch * (_audio.Dimensions > 0 ? _audio.Dimensions : 4096));
        try
        {
            for (int start = 0; start < clips.Count; start += maxBatch)
            {
                int batch = Math.Min(maxBatch, clips.Count - start);
                Parallel.For(0, batch, new ParallelOptions { CancellationToken = cancellationToken },
                    b => Features.Extract(clips[start + b] ?? throw new InvalidInputException($"Clip {start + b} is null."), features.AsSpan(b * length, length)));
                _audio.RunAudio(features, batch, s.FrameCount, s.FeatureSize, output, cancellationToken);
                CopyOut(output, batch, _audio.Dimensions, results, start);
            }

            return results;
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0 && ex.InnerExceptions[0] is OmnivecException inner)
        {
            throw inner;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(features);
            ArrayPool<float>.Shared.Return(output);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<AudioSegmentEmbedding> EmbedAudioFileAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ThrowIfDisposed();
        ClapFeatureSettings s = Features.Settings;
        AudioInfo info = await _reader.ProbeAsync(path, cancellationToken).ConfigureAwait(false);
        int maxBatch = MaxBatch(_audio);
        var pending = new List<AudioWindow>(maxBatch);
        await foreach (AudioWindow window in _reader.ReadWindowsAsync(path, info, s.SamplingRate, s.MaxSamples, _hopSamples, cancellationToken).ConfigureAwait(false))
        {
            pending.Add(window);
            if (pending.Count == maxBatch)
            {
                foreach (AudioSegmentEmbedding e in EmbedWindows(pending, cancellationToken))
                {
                    yield return e;
                }

                pending.Clear();
            }
        }

        foreach (AudioSegmentEmbedding e in EmbedWindows(pending, cancellationToken))
        {
            yield return e;
        }
    }

    private List<AudioSegmentEmbedding> EmbedWindows(List<AudioWindow> windows, CancellationToken cancellationToken)
    {
        if (windows.Count == 0)
        {
            return [];
        }

        float[][] vectors = EmbedClips(windows.Select(w => w.Samples).ToArray(), cancellationToken);
        return windows.Select((w, i) => new AudioSegmentEmbedding(w.StartSec, w.EndSec, ToEmbedding(vectors[i]))).ToList();
    }

    /// <summary>
    /// One vector for a whole file: its single window's, or the normalised mean of its windows' vectors (the centroid
    /// of the moments of a long recording).
    /// </summary>
    public async Task<Embedding<float>> EmbedAudioFileAsOneAsync(string path, CancellationToken cancellationToken = default)
    {
        float[]? sum = null;
        int count = 0;
        await foreach (AudioSegmentEmbedding segment in EmbedAudioFileAsync(path, cancellationToken).ConfigureAwait(false))
        {
            sum ??= new float[segment.Embedding.Vector.Length];
            System.Numerics.Tensors.TensorPrimitives.Add(sum, segment.Embedding.Vector.Span, sum);
            count++;
        }

        if (sum is null)
        {
            throw new InvalidInputException($"{path}: no audio");
        }

        if (count > 1 || _options.Normalize)
        {
            VectorMath.NormalizeInPlace(sum);
        }

        return ToEmbedding(sum);
    }

    private void CopyOut(float[] output, int batch, int dims, float[][] results, int start)
    {
        for (int b = 0; b < batch; b++)
        {
            float[] vector = output.AsSpan(b * dims, dims).ToArray();
            if (_options.Normalize)
            {
                VectorMath.NormalizeInPlace(vector);
            }

            results[start + b] = vector;
        }
    }

    private int MaxBatch(OnnxTower tower) => tower.FixedBatch > 0 ? tower.FixedBatch : Math.Max(1, _options.MaxBatchSize);

    private Embedding<float> ToEmbedding(float[] vector) => new(vector) { ModelId = Space.ModelId, CreatedAt = DateTimeOffset.UtcNow };

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private void CheckDimensions(EmbeddingGenerationOptions? options)
    {
        if (options?.Dimensions is int requested && requested != Dimensions)
        {
            throw new InvalidInputException($"This model produces {Dimensions}-dimensional vectors and cannot produce {requested}.");
        }
    }

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckDimensions(options);
        float[][] vectors = EmbedTexts(values as IReadOnlyList<string> ?? values.ToArray(), cancellationToken);
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Length);
        foreach (float[] vector in vectors)
        {
            result.Add(ToEmbedding(vector));
        }

        return Task.FromResult(result);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Audio (audio/*), or a video's soundtrack (video/*, application/octet-stream: recognised by content): decoded with
    /// FFmpeg from a temporary file. One vector per input: see <see cref="EmbedAudioFileAsOneAsync"/>. Any input that
    /// cannot be embedded fails the call with its typed error.
    /// </remarks>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckDimensions(options);
        DataContent[] contents = values as DataContent[] ?? values.ToArray();
        var result = new GeneratedEmbeddings<Embedding<float>>(contents.Length);
        for (int i = 0; i < contents.Length; i++)
        {
            DataContent content = contents[i] ?? throw new InvalidInputException($"Input {i} is null.");
            if (!content.HasTopLevelMediaType("audio") && !content.HasTopLevelMediaType("video")
                && !string.Equals(content.MediaType, "application/octet-stream", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidInputException($"Input {i} has media type '{content.MediaType}'; this model embeds text and audio only.");
            }

            string name = content.Name ?? $"audio {i}";
            string temp = Path.Combine(Path.GetTempPath(), $"omnivec-audio-{Environment.ProcessId}-{Guid.NewGuid():N}");
            try
            {
                await File.WriteAllBytesAsync(temp, content.Data, cancellationToken).ConfigureAwait(false);
                try
                {
                    result.Add(await EmbedAudioFileAsOneAsync(temp, cancellationToken).ConfigureAwait(false));
                }
                catch (AudioReadException ex)
                {
                    throw new AudioReadException(ex.Kind, ex.Message.Replace(temp, name, StringComparison.Ordinal), ex);
                }
            }
            finally
            {
                File.Delete(temp);
            }
        }

        return result;
    }

    /// <inheritdoc />
    /// <summary>The standard answers (metadata, space, this generator and <see cref="IAudioFileEmbedder"/>), plus its tokenizer (<see cref="ITextTokenizer"/>).</summary>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && (serviceType == typeof(ITextTokenizer) || serviceType == typeof(RobertaTokenizer))
            ? Tokenizer
            : MultimodalEmbeddingGenerator.GetService(this, _metadata, serviceType, serviceKey);

    /// <summary>Releases both ONNX Runtime sessions.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _text.Dispose();
        _audio.Dispose();
    }
}
