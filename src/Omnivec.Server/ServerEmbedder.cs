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
    private readonly IAudioFileEmbedder? _audio;

    public ServerEmbedder(IMultimodalEmbeddingGenerator inner, OmnivecServerOptions options)
    {
        _inner = inner;
        _options = options;
        _identifier = new ImageDecoder(new ImageDecoderOptions { MaxPixels = options.MaxImagePixels, MaxBytes = Math.Min(options.MaxRequestBytes, Array.MaxLength) });
        _tokenizer = inner.GetService<Text.ITextTokenizer>();
        _audio = inner.GetService<IAudioFileEmbedder>();
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

    /// <summary>Whether the model embeds audio (a CLAP pack); when not, audio inputs are refused with 400.</summary>
    public bool EmbedsAudio => _audio is not null;

    /// <summary>Whether the model embeds images (and so video frames).</summary>
    public bool EmbedsImages => (_inner.Space.Modalities & Modalities.Image) != 0;

    private string NoAudioMessage() =>
        $"This server's model ({_inner.Space.ModelId}) does not embed audio; serve an audio model such as Xenova/clap-htsat-unfused to send audio.";

    /// <summary>
    /// Embeds an audio or video input (bytes of any format FFmpeg reads) into its moments, within
    /// <see cref="OmnivecServerOptions.MaxMediaInputDuration"/>: a recording (or, with an audio model, a video's
    /// soundtrack) window by window; a video with an image model segment by segment. Bad media is a 400 naming <paramref name="label"/>.
    /// </summary>
    public async Task<IReadOnlyList<MediaSegment>> EmbedMediaAsync(ReadOnlyMemory<byte> data, bool isVideo, string label, CancellationToken cancellationToken)
    {
        if (!isVideo && _audio is null)
        {
            throw ApiException.BadRequest($"{label}: {NoAudioMessage()}");
        }

        if (data.Length == 0)
        {
            throw ApiException.BadRequest($"{label} is empty.");
        }

        string temp = Path.Combine(Path.GetTempPath(), $"omnivec-srv-media-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            await File.WriteAllBytesAsync(temp, data, cancellationToken).ConfigureAwait(false);
            return await EmbedMediaFileAsync(temp, isVideo, label, _options.MaxMediaInputDuration, null, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>The moments of a media file on disk (see <see cref="EmbedMediaAsync"/>), each error naming <paramref name="label"/> instead of the file's path.</summary>
    /// <remarks><paramref name="progress"/>, when given, hears how far decoding and embedding have got.</remarks>
    public async Task<IReadOnlyList<MediaSegment>> EmbedMediaFileAsync(string path, bool isVideo, string label, TimeSpan maxDuration,
        IProgress<Omnivec.Media.VideoProgress>? progress, CancellationToken cancellationToken)
    {
        var segments = new List<MediaSegment>();
        try
        {
            // A recording's windows are decoded as they are embedded: its progress is the end of each window.
            double audioDuration = _audio is not null && progress is not null ? await AudioDurationAsync(path, cancellationToken).ConfigureAwait(false) : 0;
            IAsyncEnumerable<MediaSegment> moments = _audio is not null
                ? _audio.EmbedAudioFileAsync(path, cancellationToken).Select(w => new MediaSegment(w.StartSec, w.EndSec, w.Embedding.Vector))
                : isVideo
                ? VideoSegments(path, progress, cancellationToken)
                : throw ApiException.BadRequest($"{label}: {NoAudioMessage()}");
            await foreach (MediaSegment segment in moments.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (segment.EndSec > maxDuration.TotalSeconds + 1e-6)
                {
                    throw ApiException.TooLarge($"{label}: the {(isVideo ? "video" : "audio")} lasts more than {maxDuration.TotalSeconds:0} s, the limit of this server (MaxMediaInputDuration).");
                }

                segments.Add(segment);
                if (_audio is not null)
                {
                    double end = audioDuration > 0 ? Math.Min(segment.EndSec, audioDuration) : segment.EndSec;
                    progress?.Report(new Omnivec.Media.VideoProgress(end, audioDuration, segments.Count, end));
                }
            }
        }
        catch (Omnivec.Media.FfmpegNotFoundException e)
        {
            throw ApiException.Unavailable("Audio and video need FFmpeg on the server: " + e.Message, retryAfterSeconds: 3600);
        }
        catch (InvalidInputException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw ApiException.BadRequest(ApiException.Quote(e.Message.Replace(path, label, StringComparison.Ordinal), 500));
        }

        return segments.Count > 0 ? segments : throw ApiException.BadRequest($"{label}: nothing could be decoded.");
    }

    /// <summary>The duration ffprobe gives a recording, 0 when it cannot say (progress then has no percent; errors come from the embedder).</summary>
    private async Task<double> AudioDurationAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return (await new Omnivec.Media.AudioReader(_options.Ffmpeg).ProbeAsync(path, cancellationToken).ConfigureAwait(false)).DurationSec;
        }
        catch (InvalidInputException)
        {
            return 0;
        }
    }

    private async IAsyncEnumerable<MediaSegment> VideoSegments(string path, IProgress<Omnivec.Media.VideoProgress>? progress,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = new Omnivec.Media.VideoReader(_options.Ffmpeg);
        var video = new Omnivec.Media.VideoEmbedder(Images, new Omnivec.Media.VideoSegmenter(_options.Video, reader));
        await foreach (Omnivec.Media.VideoSegmentVector segment in video.EmbedAsync(path, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return new MediaSegment(segment.StartSec, segment.EndSec, segment.Embedding.Vector);
        }
    }

    /// <summary>One vector for a whole recording or video: the normalised mean of its moments (what the library's audio generator gives).</summary>
    public static float[] Pool(IReadOnlyList<MediaSegment> segments)
    {
        float[] sum = new float[segments[0].Vector.Length];
        foreach (MediaSegment segment in segments)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(sum, segment.Vector.Span, sum);
        }

        VectorMath.NormalizeInPlace(sum);
        return sum;
    }

    public IEmbeddingGenerator<DataContent, Embedding<float>> Images => (IEmbeddingGenerator<DataContent, Embedding<float>>?)_batchedImages ?? _inner;

    /// <summary>
    /// The pack's code for a request's <c>language</c> (null when none is asked or the model reads any language without
    /// being told); an unknown language is a 400 naming the forms it takes.
    /// </summary>
    public string? ResolveLanguage(string? language)
    {
        if (string.IsNullOrWhiteSpace(language) || _inner.GetService(typeof(Text.TextLanguages)) is not Text.TextLanguages languages)
        {
            return null;
        }

        return languages.TryResolve(language, out string code)
            ? code
            : throw ApiException.BadRequest("'language': " + new Text.UnknownLanguageException(language, languages).Message);
    }

    /// <summary>The text as the model reads it in <paramref name="code"/> (from <see cref="ResolveLanguage"/>): the code glued in front.</summary>
    public static string InLanguage(string text, string? code) => code is null ? text : code + text;

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

/// <summary>A moment of a recording or video: its offsets in seconds and its vector.</summary>
internal sealed record MediaSegment(double StartSec, double EndSec, ReadOnlyMemory<float> Vector);
