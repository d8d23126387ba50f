using System.Buffers;
using Microsoft.Extensions.AI;
using Omnivec.Models;
using Omnivec.Text;

namespace Omnivec.Onnx;

/// <summary>The token width one text batch runs at, from the batch's encoded lengths.</summary>
internal delegate int TextRunWidth(ReadOnlySpan<int> lengths, int contextLength);

/// <summary>
/// What every local two-tower generator (<see cref="ClipEmbeddingGenerator"/>, <see cref="ClapEmbeddingGenerator"/>)
/// does the same way: finding the pack's files, loading the text tower, running text batches, turning tower output into
/// (normalised) vectors and <see cref="Embedding{T}"/>s, the identity it records, the Microsoft.Extensions.AI answers
/// (dimension check, text generation, <c>GetService</c>) and the disposed state. Each generator keeps what is its own
/// (the image or audio tower and its inputs).
/// </summary>
internal sealed class OnnxGeneratorCore
{
    private readonly OnnxModelOptions _options;
    private readonly Type _owner;
    private EmbeddingGeneratorMetadata? _metadata;
    private EmbeddingSpace? _space;
    private int _disposed;

    public OnnxGeneratorCore(Type owner, OnnxModelOptions options, OnnxTower text, ITextTokenizer tokenizer)
    {
        _owner = owner;
        _options = options;
        Text = text;
        Tokenizer = tokenizer;
    }

    public OnnxTower Text { get; }

    public ITextTokenizer Tokenizer { get; }

    public bool Normalize => _options.Normalize;

    /// <summary>The space, set by <see cref="Identify"/> once the towers have told their width.</summary>
    public EmbeddingSpace Space => _space ?? throw new InvalidOperationException("The generator has not been identified yet.");

    /// <summary>The space, or null while the generator is still loading (for telemetry tags).</summary>
    public EmbeddingSpace? SpaceOrNull => _space;

    /// <summary>The pack's files for <paramref name="variant"/>; the folder must exist.</summary>
    public static ClipModelFiles SelectFiles(string modelDirectory, ModelVariant variant)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        if (!Directory.Exists(modelDirectory))
        {
            throw new ModelConfigurationException($"Model folder not found: {modelDirectory}");
        }

        return ClipModelLayout.SelectFromDirectory(modelDirectory, variant);
    }

    /// <summary>Loads the text tower and builds the generator on it; the tower is released when building fails.</summary>
    public static T WithTextTower<T>(string modelDirectory, ClipModelFiles files, OnnxModelOptions options, Func<OnnxTower, T> build)
    {
        OnnxExternalData.Check(Path.Combine(modelDirectory, files.TextModel));
        OnnxTower text = OnnxTower.Load(Path.Combine(modelDirectory, files.TextModel), TowerKind.Text, options);
        try
        {
            return build(text);
        }
        catch
        {
            text.Dispose();
            throw;
        }
    }

    /// <summary>Records the model's identity and metadata (after any probe run that told the embedding size).</summary>
    public EmbeddingSpace Identify(string directory, ClipModelFiles files, Modalities modalities, ModelFamily family)
    {
        var identity = ModelIdentity.Resolve(directory, files, _options.ModelId, _options.Revision);
        _space = new EmbeddingSpace("local", identity.ModelId, identity.Revision, Text.Dimensions)
        {
            Modalities = modalities,
            Family = ModelFamilyDetector.Name(family),
        };
        _metadata = new EmbeddingGeneratorMetadata("omnivec-onnx", new Uri(Path.GetFullPath(directory) + Path.DirectorySeparatorChar), identity.ModelId, Text.Dimensions);
        return _space;
    }

    public int MaxBatch(OnnxTower tower) => tower.FixedBatch > 0 ? tower.FixedBatch : Math.Max(1, _options.MaxBatchSize);

    /// <summary>
    /// Embeds texts through the text tower, one batch at a time; <paramref name="width"/> decides how many token positions
    /// a batch runs (the full context, or only as wide as its longest text where that is exact).
    /// </summary>
    public float[][] EmbedTexts(IReadOnlyList<string> texts, int contextLength, TextRunWidth width, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ThrowIfDisposed();
        using System.Diagnostics.Activity? activity = OnnxTelemetry.StartEmbed("text", texts.Count, _space);
        var results = new float[texts.Count][];
        int maxBatch = MaxBatch(Text);
        int seq = contextLength;
        long[] ids = ArrayPool<long>.Shared.Rent(maxBatch * seq);
        int[] lengths = ArrayPool<int>.Shared.Rent(maxBatch);
        // Until a dynamic-shape model has run once its width is unknown; 4096 covers every model here.
        float[] output = ArrayPool<float>.Shared.Rent(maxBatch * (Text.Dimensions > 0 ? Text.Dimensions : 4096));
        try
        {
            for (int start = 0; start < texts.Count; start += maxBatch)
            {
                int batch = Math.Min(maxBatch, texts.Count - start);
                for (int b = 0; b < batch; b++)
                {
                    string text = texts[start + b] ?? throw new InvalidInputException($"Text {start + b} is null.");
                    lengths[b] = Tokenizer.Encode(text, ids.AsSpan(b * seq, seq));
                }

                int used = Math.Min(width(lengths.AsSpan(0, batch), seq), seq);
                if (used < seq)
                {
                    // Pack rows to the trimmed width in place (each row moves left, so no overlap is lost).
                    for (int b = 1; b < batch; b++)
                    {
                        ids.AsSpan(b * seq, used).CopyTo(ids.AsSpan(b * used, used));
                    }
                }

                Text.RunText(ids.AsSpan(0, batch * used), lengths.AsSpan(0, batch), batch, used, output, cancellationToken);
                CopyOut(output, batch, Text.Dimensions, results, start);
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

    /// <summary>Copies <paramref name="batch"/> rows of tower output into new (normalised) vectors at <paramref name="start"/>.</summary>
    public void CopyOut(float[] output, int batch, int dims, float[][] results, int start)
    {
        for (int b = 0; b < batch; b++)
        {
            results[start + b] = ToVector(output.AsSpan(b * dims, dims));
        }
    }

    /// <summary>One row of tower output as a new vector, normalised unless the options say otherwise.</summary>
    public float[] ToVector(ReadOnlySpan<float> row)
    {
        float[] vector = row.ToArray();
        if (_options.Normalize)
        {
            VectorMath.NormalizeInPlace(vector);
        }

        return vector;
    }

    public Embedding<float> ToEmbedding(float[] vector) => new(vector) { ModelId = Space.ModelId, CreatedAt = DateTimeOffset.UtcNow };

    public GeneratedEmbeddings<Embedding<float>> ToEmbeddings(IReadOnlyCollection<float[]> vectors)
    {
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Count);
        foreach (float[] vector in vectors)
        {
            result.Add(ToEmbedding(vector));
        }

        return result;
    }

    public void CheckDimensions(EmbeddingGenerationOptions? options)
    {
        if (options?.Dimensions is int requested && requested != Space.Dimensions)
        {
            throw new InvalidInputException($"This model produces {Space.Dimensions}-dimensional vectors and cannot produce {requested}.");
        }
    }

    /// <summary>The text half of <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c>: checked, embedded, wrapped.</summary>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateTexts(IEnumerable<string> values, EmbeddingGenerationOptions? options,
        Func<IReadOnlyList<string>, CancellationToken, float[][]> embed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckDimensions(options);
        return Task.FromResult(ToEmbeddings(embed(values as IReadOnlyList<string> ?? values.ToArray(), cancellationToken)));
    }

    /// <summary>The standard answers (metadata, space, the generator and its capabilities) plus the tokenizer under its interface and its own type.</summary>
    public object? GetService(IMultimodalEmbeddingGenerator owner, Type serviceType, object? serviceKey) =>
        serviceKey is null && (serviceType == typeof(ITextTokenizer) || serviceType == Tokenizer.GetType())
            ? Tokenizer
            : MultimodalEmbeddingGenerator.GetService(owner, _metadata!, serviceType, serviceKey);

    public void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, _owner);

    /// <summary>Marks the generator disposed and releases the text tower; false when it already was.</summary>
    public bool Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return false;
        }

        Text.Dispose();
        return true;
    }
}
