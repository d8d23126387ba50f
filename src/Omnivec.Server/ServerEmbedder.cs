using Microsoft.Extensions.AI;
using Omnivec.Imaging;

namespace Omnivec.Server;

/// <summary>
/// The embedder as the endpoints see it: text and image halves, each behind a <see cref="BatchingEmbeddingGenerator{TInput}"/>
/// when batching is on, plus the input checks shared by every route (text length, image header and pixel limit).
/// </summary>
internal sealed class ServerEmbedder : IDisposable
{
    private readonly IMultimodalEmbeddingGenerator _inner;
    private readonly OmnivecServerOptions _options;
    private readonly ImageDecoder _identifier;
    private readonly Text.ITextTokenizer? _tokenizer;
    private readonly BatchingEmbeddingGenerator<string>? _batchedText;
    private readonly BatchingEmbeddingGenerator<DataContent>? _batchedImages;

    public ServerEmbedder(IMultimodalEmbeddingGenerator inner, OmnivecServerOptions options)
    {
        _inner = inner;
        _options = options;
        _identifier = new ImageDecoder(new ImageDecoderOptions { MaxPixels = options.MaxImagePixels, MaxBytes = Math.Min(options.MaxRequestBytes, Array.MaxLength) });
        _tokenizer = inner.GetService<Text.ITextTokenizer>();
        Prompts = new PromptCache(this, options);
        if (options.MaxBatchSize > 1)
        {
            // The batchers must not dispose the shared embedder: the caller of OmnivecServer.Build owns it.
            _batchedText = new BatchingEmbeddingGenerator<string>(new NonDisposing<string>(inner), options.MaxBatchSize, options.BatchWindow);
            _batchedImages = new BatchingEmbeddingGenerator<DataContent>(new NonDisposing<DataContent>(inner), options.MaxBatchSize, options.BatchWindow);
        }
    }

    public EmbeddingSpace Space => _inner.Space;

    /// <summary>The model's sigmoid calibration (SigLIP): search results report a match probability with it.</summary>
    public SigmoidScoreCalibration? Calibration => _inner.GetService(typeof(SigmoidScoreCalibration)) as SigmoidScoreCalibration;

    /// <summary>Cached text embeddings of classification prompts.</summary>
    public PromptCache Prompts { get; }

    public IEmbeddingGenerator<string, Embedding<float>> Text => (IEmbeddingGenerator<string, Embedding<float>>?)_batchedText ?? _inner;

    public IEmbeddingGenerator<DataContent, Embedding<float>> Images => (IEmbeddingGenerator<DataContent, Embedding<float>>?)_batchedImages ?? _inner;

    /// <summary>Refuses empty or over-long text with a message naming the input.</summary>
    public void CheckText(string text, string label)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw ApiException.BadRequest($"{label} is empty.");
        }

        if (text.Length > _options.MaxTextLength)
        {
            throw ApiException.BadRequest($"{label} is {text.Length:N0} characters long; the limit is {_options.MaxTextLength:N0}.");
        }
    }

    /// <summary>Reads the header (format and size) and applies the pixel limit before any pixel is decoded.</summary>
    public ImageInfo Identify(ReadOnlyMemory<byte> data, string label)
    {
        ImageInfo info = _identifier.Identify(data.Span, label);
        if ((long)info.Width * info.Height > _options.MaxImagePixels)
        {
            throw new ImageTooLargeException(info.Width, info.Height, _options.MaxImagePixels, label);
        }

        return info;
    }

    /// <summary>Checks the image and wraps it for the image embedder.</summary>
    public (DataContent Content, ImageInfo Info) PrepareImage(ReadOnlyMemory<byte> data, string label)
    {
        ImageInfo info = Identify(data, label);
        return (new DataContent(data, "image/" + info.Format.ToLowerInvariant()) { Name = label }, info);
    }

    public async Task<float[]> EmbedTextAsync(string text, CancellationToken cancellationToken)
    {
        Embedding<float> e = await Text.GenerateAsync(text, cancellationToken: cancellationToken).ConfigureAwait(false);
        return e.Vector.ToArray();
    }

    public async Task<float[]> EmbedImageAsync(DataContent image, CancellationToken cancellationToken)
    {
        Embedding<float> e = await Images.GenerateAsync(image, cancellationToken: cancellationToken).ConfigureAwait(false);
        return e.Vector.ToArray();
    }

    /// <summary>Tokens a text costs (the model's tokenizer when it has one, else a word-count estimate), for usage reporting.</summary>
    public int CountTokens(string text) =>
        _tokenizer is not null ? Math.Min(_tokenizer.CountTokens(text), _tokenizer.ContextLength)
        : Math.Max(1, text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length);

    /// <summary>True once the server has let go of the model (it is shutting down).</summary>
    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        IsDisposed = true;
        _batchedText?.Dispose();
        _batchedImages?.Dispose();
    }

    /// <summary>Passes calls through but leaves the shared generator alive when the batcher is disposed.</summary>
    private sealed class NonDisposing<TInput>(IEmbeddingGenerator<TInput, Embedding<float>> inner) : IEmbeddingGenerator<TInput, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<TInput> values, EmbeddingGenerationOptions? options = null,
            CancellationToken cancellationToken = default) => inner.GenerateAsync(values, options, cancellationToken);

        public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);

        public void Dispose()
        {
        }
    }
}
