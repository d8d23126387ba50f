using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Omnivec.Media;
using Omnivec.Models;
using Omnivec.Preprocessing;
using Omnivec.Text;

namespace Omnivec.Onnx;

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
    private readonly OnnxGeneratorCore _core;
    private readonly OnnxTower _audio;
    private readonly ClapModelOptions _options;
    private readonly AudioReader _reader;
    private readonly int _hopSamples;

    private ClapEmbeddingGenerator(ClapModelOptions options, string directory, ClipModelFiles files, OnnxTower text, OnnxTower audio,
        RobertaTokenizer tokenizer, ClapFeatureExtractor features)
    {
        _options = options;
        _core = new OnnxGeneratorCore(typeof(ClapEmbeddingGenerator), options, text, tokenizer);
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

        _core.Identify(directory, files, Modalities.Text | Modalities.Audio, ModelFamily.Clap);
    }

    /// <inheritdoc />
    public EmbeddingSpace Space => _core.Space;

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
        options ??= new ClapModelOptions();
        ClipModelFiles files = OnnxGeneratorCore.SelectFiles(modelDirectory, options.Variant);
        if (files.Kind != ClipLayoutKind.TransformersJsAudio)
        {
            throw new ModelConfigurationException($"{modelDirectory} is not a CLAP pack (no onnx/audio_model.onnx beside onnx/text_model.onnx).");
        }

        int? maxPositions = CheckConfig(modelDirectory);
        ClapFeatureExtractor features = ClapFeatureExtractor.FromDirectory(modelDirectory);
        RobertaTokenizer tokenizer = RobertaTokenizer.FromDirectory(modelDirectory, maxPositions);
        OnnxExternalData.Check(Path.Combine(modelDirectory, files.VisionModel));
        return OnnxGeneratorCore.WithTextTower(modelDirectory, files, options, text =>
        {
            OnnxTower audio = OnnxTower.Load(Path.Combine(modelDirectory, files.VisionModel), TowerKind.Audio, options);
            try
            {
                return new ClapEmbeddingGenerator(options, modelDirectory, files, text, audio, tokenizer, features);
            }
            catch
            {
                audio.Dispose();
                throw;
            }
        });
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
    public float[][] EmbedTexts(IReadOnlyList<string> texts, CancellationToken cancellationToken = default) =>
        _core.EmbedTexts(texts, Tokenizer.ContextLength, TextWidth, cancellationToken);

    /// <summary>RoBERTa masks padding and derives positions from it, so a batch runs only as wide as its longest text.</summary>
    private int TextWidth(ReadOnlySpan<int> lengths, int contextLength)
    {
        if (_core.Text.FixedSequenceLength > 0)
        {
            return _core.Text.FixedSequenceLength;
        }

        int longest = 2;
        foreach (int length in lengths)
        {
            longest = Math.Max(longest, length);
        }

        return longest;
    }

    /// <summary>
    /// Embeds clips of mono samples at the model's rate (<see cref="ClapFeatureSettings.SamplingRate"/>), each at most
    /// one window long (shorter ones are padded as the reference does); one vector per clip, in order.
    /// </summary>
    public float[][] EmbedClips(IReadOnlyList<float[]> clips, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clips);
        _core.ThrowIfDisposed();
        using System.Diagnostics.Activity? activity = OnnxTelemetry.StartEmbed("audio", clips.Count, _core.SpaceOrNull);
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
                _core.CopyOut(output, batch, _audio.Dimensions, results, start);
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
        _core.ThrowIfDisposed();
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
        return windows.Select((w, i) => new AudioSegmentEmbedding(w.StartSec, w.EndSec, _core.ToEmbedding(vectors[i]))).ToList();
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

        return _core.ToEmbedding(sum);
    }

    private int MaxBatch(OnnxTower tower) => _core.MaxBatch(tower);

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default) =>
        _core.GenerateTexts(values, options, EmbedTexts, cancellationToken);

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
        _core.CheckDimensions(options);
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
    public object? GetService(Type serviceType, object? serviceKey = null) => _core.GetService(this, serviceType, serviceKey);

    /// <summary>Releases both ONNX Runtime sessions.</summary>
    public void Dispose()
    {
        if (_core.Dispose())
        {
            _audio.Dispose();
        }
    }
}
