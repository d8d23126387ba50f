using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Omnivec.Media;

namespace Omnivec.Providers.Google;

/// <summary>
/// Text, image and video embeddings from Vertex AI's multimodal embedding model. Each input is one :predict request
/// (the model takes a single instance per call); requests run concurrently up to <see cref="EmbeddingServiceOptions.MaxConcurrency"/>.
/// Vectors are L2-normalised here, so cosine and dot product agree.
/// </summary>
public sealed class VertexAIEmbeddingGenerator : IMultimodalEmbeddingGenerator, IDisposable
{
    internal const string ProviderName = "google";

    /// <summary>Dimensions the model can return for text and images.</summary>
    public static IReadOnlyList<int> SupportedDimensions { get; } = [128, 256, 512, 1408];

    /// <summary>The only dimension video embeddings come in.</summary>
    public const int VideoDimensions = 1408;

    /// <summary>Largest image the service accepts.</summary>
    public const int MaxImageBytes = 20 * 1024 * 1024;

    /// <summary>The model reads at most this many text tokens and drops the rest.</summary>
    public const int MaxTextTokens = 32;

    private readonly ServiceRequestSender _sender;
    private readonly GoogleAccessTokenSource _tokens;
    private readonly ILogger _logger;
    private readonly Uri _predictUri;
    private readonly string _modelId;
    private readonly int _maxConcurrency;
    private readonly int _maxVideoSec;
    private readonly long _maxVideoBytes;
    private readonly FfmpegOptions _ffmpeg;
    private readonly string? _videoTempDirectory;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Creates a generator. The client is not disposed here when given; when null, one is created and owned.</summary>
    public VertexAIEmbeddingGenerator(VertexAIOptions options, HttpClient? httpClient = null, ILogger? logger = null)
        : this(options, httpClient, null, logger, Environment.GetEnvironmentVariable)
    {
    }

    /// <summary>For IHttpClientFactory: <paramref name="clientFactory"/> is asked for a client per request.</summary>
    internal VertexAIEmbeddingGenerator(
        VertexAIOptions options, HttpClient? httpClient, Func<HttpClient>? clientFactory, ILogger? logger, Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        _logger = logger ?? NullLogger.Instance;
        _modelId = options.ModelId;
        _maxConcurrency = options.MaxConcurrency;
        _maxVideoSec = options.MaxVideoRequestSec;
        _maxVideoBytes = options.MaxVideoRequestBytes;
        _ffmpeg = options.Ffmpeg ?? new FfmpegOptions();
        _videoTempDirectory = options.VideoTempDirectory;

        Uri root = options.Endpoint ?? DefaultEndpoint(options.Location);
        string path = string.Create(CultureInfo.InvariantCulture,
            $"v1/projects/{Uri.EscapeDataString(options.Project!)}/locations/{Uri.EscapeDataString(options.Location)}/publishers/google/models/{Uri.EscapeDataString(options.ModelId).Replace("%40", "@", StringComparison.Ordinal)}:predict");
        _predictUri = new Uri(EnsureTrailingSlash(root), path);

        _tokens = GoogleAccessTokenSource.Create(options.AccessToken, options.CredentialsFile, getVariable);
        ProviderLog.AuthKind(_logger, ProviderName, _tokens.Kind);


        _sender = new ServiceRequestSender(
            httpClient,
            clientFactory,
            options,
            _logger,
            ProviderName,
            GoogleErrorBody.Read,
            () => [_tokens.CurrentToken]);

        string revision = options.ModelId.Contains('@', StringComparison.Ordinal) ? options.ModelId[(options.ModelId.IndexOf('@', StringComparison.Ordinal) + 1)..] : "";
        Space = new EmbeddingSpace(ProviderName, options.ModelId, revision, options.Dimensions)
        {
            Modalities = options.Dimensions == VideoDimensions ? Modalities.Text | Modalities.Image | Modalities.Video : Modalities.Text | Modalities.Image,
        };
        _metadata = new EmbeddingGeneratorMetadata(ProviderName, root, options.ModelId, options.Dimensions);
    }

    /// <summary>The space this generator's vectors belong to (Vertex AI multimodal embeddings, the configured dimension).</summary>
    public EmbeddingSpace Space { get; }

    /// <summary>The :predict URL requests go to.</summary>
    public Uri PredictUri => _predictUri;

    /// <summary>Embeds texts, one vector per text in input order. Texts beyond the model's 32 tokens are cut by the service (a warning is logged).</summary>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ThrowIfDisposed();
        int dimension = ResolveDimension(options);
        string[] texts = values.ToArray();
        for (int i = 0; i < texts.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(texts[i]))
            {
                throw new InvalidInputException($"Text input {i} is empty; the embedding service needs at least one word.");
            }
        }

        for (int i = 0; i < texts.Length; i++)
        {
            int estimate = TextTokenEstimate.Estimate(texts[i]);
            if (estimate > MaxTextTokens)
            {
                ProviderLog.TextTooLong(_logger, ProviderName, i, estimate, MaxTextTokens);
            }
        }

        Embedding<float>[] results = await OrderedParallel.MapAsync(texts, _maxConcurrency, async (text, _, ct) =>
        {
            var request = new PredictRequest { Instances = [new PredictInstance { Text = text }], Parameters = new PredictParameters { Dimension = dimension } };
            Prediction p = await PredictAsync(request, "text embedding", ct).ConfigureAwait(false);
            return ToEmbedding(p.TextEmbedding, "textEmbedding", dimension);
        }, cancellationToken).ConfigureAwait(false);
        return new GeneratedEmbeddings<Embedding<float>>(results);
    }

    /// <summary>Embeds images (JPEG, PNG, GIF or BMP bytes, at most 20 MB), one vector per image in input order.</summary>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ThrowIfDisposed();
        int dimension = ResolveDimension(options);
        DataContent[] images = values.ToArray();
        var inputs = new MediaInput[images.Length];
        for (int i = 0; i < images.Length; i++)
        {
            inputs[i] = ImageInput(images[i], i);
        }

        Embedding<float>[] results = await OrderedParallel.MapAsync(inputs, _maxConcurrency, async (image, _, ct) =>
        {
            var request = new PredictRequest { Instances = [new PredictInstance { Image = image }], Parameters = new PredictParameters { Dimension = dimension } };
            Prediction p = await PredictAsync(request, "image embedding", ct).ConfigureAwait(false);
            return ToEmbedding(p.ImageEmbedding, "imageEmbedding", dimension);
        }, cancellationToken).ConfigureAwait(false);
        return new GeneratedEmbeddings<Embedding<float>>(results);
    }

    /// <summary>Embeds an image stored in Cloud Storage (a gs:// URI) without uploading it.</summary>
    public async Task<Embedding<float>> GenerateImageEmbeddingAsync(Uri gcsUri, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        string uri = CheckGcsUri(gcsUri);
        int dimension = ResolveDimension(options);
        var request = new PredictRequest { Instances = [new PredictInstance { Image = new MediaInput { GcsUri = uri } }], Parameters = new PredictParameters { Dimension = dimension } };
        Prediction p = await PredictAsync(request, "image embedding", cancellationToken).ConfigureAwait(false);
        return ToEmbedding(p.ImageEmbedding, "imageEmbedding", dimension);
    }

    /// <summary>
    /// Embeds a video given as bytes (media type video/*), one 1408-d vector per segment of
    /// <see cref="VideoSegmentOptions.IntervalSec"/> seconds between the start and end offsets.
    /// </summary>
    public Task<IReadOnlyList<VideoSegmentEmbedding>> GenerateVideoEmbeddingsAsync(
        DataContent video, VideoSegmentOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(video);
        ThrowIfDisposed();
        if (!video.HasTopLevelMediaType("video"))
        {
            throw new InvalidInputException($"Video input has media type '{video.MediaType}'; expected video/* (e.g. video/mp4).");
        }

        if (video.Data.IsEmpty)
        {
            throw new InvalidInputException("Video input is empty.");
        }

        if (video.Data.Length > _maxVideoBytes)
        {
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture,
                $"Video input is {video.Data.Length:N0} bytes, above the {_maxVideoBytes:N0} bytes one request may carry; embed it from its file (GenerateVideoEmbeddingsAsync(path)), which splits it with FFmpeg."));
        }

        return VideoAsync(new VideoInput { BytesBase64Encoded = Convert.ToBase64String(video.Data.Span), VideoSegmentConfig = SegmentConfig(options) }, cancellationToken);
    }

    /// <summary>
    /// Embeds a video file, one 1408-d vector per segment of <see cref="VideoSegmentOptions.IntervalSec"/> seconds (16 by
    /// default), with offsets in seconds from the start of the file. The service analyses at most two minutes per request;
    /// a file longer than <see cref="VertexAIOptions.MaxVideoRequestSec"/> or larger than
    /// <see cref="VertexAIOptions.MaxVideoRequestBytes"/> is split with FFmpeg into pieces (copied at keyframes, re-encoded
    /// only when a copy cannot fit), each piece is embedded in its own request, and the pieces' segments are shifted by
    /// the piece's start: the result is one continuous list of segments covering the whole video (or the requested range).
    /// Pieces are temporary files, deleted as soon as they are sent; FFmpeg is killed on cancellation.
    /// </summary>
    /// <exception cref="VideoReadException">The file is not a video FFmpeg can read or cut.</exception>
    /// <exception cref="FfmpegNotFoundException">FFmpeg is not installed and the file cannot go in one request.</exception>
    public async Task<IReadOnlyList<VideoSegmentEmbedding>> GenerateVideoEmbeddingsAsync(
        string path, VideoSegmentOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ThrowIfDisposed();
        CheckVideoDimensions();
        VideoSegmentConfig? config = SegmentConfig(options);
        if (!File.Exists(path))
        {
            throw new InvalidInputException($"{path}: file not found");
        }

        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"{path}: {ex.Message}", ex);
        }

        if (length == 0)
        {
            throw new InvalidInputException($"{path}: the file is empty");
        }

        VideoInfo info;
        try
        {
            info = await new VideoReader(_ffmpeg).ProbeAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FfmpegNotFoundException) when (length <= _maxVideoBytes)
        {
            // Without FFmpeg the length is unknown: one request, as the service takes it (its first two minutes only).
            VideoLog.NoFfmpeg(_logger, path);
            return await OneRequestAsync(path, config, cancellationToken).ConfigureAwait(false);
        }

        double start = options?.StartOffsetSec ?? 0;
        double end = Math.Min(options?.EndOffsetSec ?? double.MaxValue, info.DurationSec);
        if (info.DurationSec <= 0 || (end - start <= _maxVideoSec && length <= _maxVideoBytes))
        {
            return await OneRequestAsync(path, config, cancellationToken).ConfigureAwait(false);
        }

        if (end <= start)
        {
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: the video lasts {info.DurationSec:0.###} s; nothing to embed from {start} s"));
        }

        int interval = options?.IntervalSec ?? DefaultIntervalSec;
        var split = new VideoSplitOptions
        {
            MaxPieceSec = _maxVideoSec,
            MaxPieceBytes = _maxVideoBytes,
            AlignSec = interval,
            StartSec = start,
            EndSec = end,
            TempDirectory = _videoTempDirectory,
        };
        return await SplitAndEmbedAsync(path, info, split, interval, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The segment length the service uses when none is given (its documented default).</summary>
    internal const int DefaultIntervalSec = 16;

    private async Task<IReadOnlyList<VideoSegmentEmbedding>> OneRequestAsync(string path, VideoSegmentConfig? config, CancellationToken cancellationToken)
    {
        byte[] bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        return await VideoAsync(new VideoInput { BytesBase64Encoded = Convert.ToBase64String(bytes), VideoSegmentConfig = config }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Cuts the next piece while the current one is being embedded (at most two pieces on disk), then maps each piece's
    /// segments (whole seconds from the piece's start) to the original's time line: the first segment of a piece starts
    /// where the piece (or the requested range) starts and its last ends where the piece ends, so consecutive pieces join
    /// without gap or overlap.
    /// </summary>
    private async Task<IReadOnlyList<VideoSegmentEmbedding>> SplitAndEmbedAsync(string path, VideoInfo info, VideoSplitOptions split, int interval, CancellationToken cancellationToken)
    {
        var result = new List<VideoSegmentEmbedding>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        IAsyncEnumerator<VideoPiece> pieces = new VideoSplitter(_ffmpeg).SplitAsync(path, info, split, stop.Token).GetAsyncEnumerator(stop.Token);
        Task<bool>? next = null;
        VideoPiece? current = null;
        try
        {
            next = pieces.MoveNextAsync().AsTask();
            int count = 0;
            while (true)
            {
                // Once awaited, a move is no longer pending (whether it succeeded or threw).
                Task<bool> moved = next;
                next = null;
                if (!await moved.ConfigureAwait(false))
                {
                    break;
                }

                current = pieces.Current;
                byte[] bytes = await File.ReadAllBytesAsync(current.Path, stop.Token).ConfigureAwait(false);
                double from = Math.Max(split.StartSec, current.StartSec);
                double to = Math.Min(split.EndSec ?? double.MaxValue, current.EndSec);
                var config = new VideoSegmentConfig
                {
                    StartOffsetSec = (int)Math.Floor(from - current.StartSec + 1e-6),
                    EndOffsetSec = Math.Max(1, (int)Math.Ceiling(to - current.StartSec - 1e-6)),
                    IntervalSec = interval,
                };
                VideoLog.Piece(_logger, path, ++count, current.StartSec, current.EndSec, bytes.Length, current.Reencoded);
                next = pieces.MoveNextAsync().AsTask();
                IReadOnlyList<VideoSegmentEmbedding> segments = await VideoAsync(
                    new VideoInput { BytesBase64Encoded = Convert.ToBase64String(bytes), VideoSegmentConfig = config }, stop.Token).ConfigureAwait(false);
                bytes = [];
                for (int i = 0; i < segments.Count; i++)
                {
                    double s = i == 0 ? from : Math.Clamp(current.StartSec + segments[i].StartOffsetSec, from, to);
                    double e = i == segments.Count - 1 ? to : Math.Clamp(current.StartSec + segments[i].EndOffsetSec, s, to);
                    if (e - s > 0.001)
                    {
                        result.Add(segments[i] with { StartOffsetSec = Math.Round(s, 3), EndOffsetSec = Math.Round(e, 3) });
                    }
                }

                current.Dispose();
                current = null;
            }

            return result;
        }
        finally
        {
            current?.Dispose();
            if (next is not null)
            {
                // Failed or cancelled mid-way: stop the cut in progress (ffmpeg is killed) before the pieces' folder goes.
                await stop.CancelAsync().ConfigureAwait(false);
                try
                {
                    if (await next.ConfigureAwait(false))
                    {
                        pieces.Current.Dispose();
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or OmnivecException)
                {
                    // The first error is the one reported.
                }
            }

            await pieces.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Embeds a video stored in Cloud Storage (a gs:// URI); see the byte overload.</summary>
    public Task<IReadOnlyList<VideoSegmentEmbedding>> GenerateVideoEmbeddingsAsync(
        Uri gcsUri, VideoSegmentOptions? options = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        string uri = CheckGcsUri(gcsUri);
        return VideoAsync(new VideoInput { GcsUri = uri, VideoSegmentConfig = SegmentConfig(options) }, cancellationToken);
    }

    private void CheckVideoDimensions()
    {
        if (Space.Dimensions != VideoDimensions)
        {
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture,
                $"Video embeddings are only {VideoDimensions}-dimensional, but this generator is set to {Space.Dimensions}; use Dimensions = {VideoDimensions} for a space that holds video."));
        }
    }

    private async Task<IReadOnlyList<VideoSegmentEmbedding>> VideoAsync(VideoInput input, CancellationToken cancellationToken)
    {
        CheckVideoDimensions();

        // No dimension parameter: it applies to text and images only.
        var request = new PredictRequest { Instances = [new PredictInstance { Video = input }] };
        Prediction p = await PredictAsync(request, "video embedding", cancellationToken).ConfigureAwait(false);
        if (p.VideoEmbeddings is null)
        {
            throw Malformed("the prediction has no videoEmbeddings");
        }

        var segments = new List<VideoSegmentEmbedding>(p.VideoEmbeddings.Count);
        foreach (VideoEmbeddingWire segment in p.VideoEmbeddings)
        {
            segments.Add(new VideoSegmentEmbedding(segment.StartOffsetSec, segment.EndOffsetSec, ToEmbedding(segment.Embedding, "embedding", VideoDimensions)));
        }

        return segments;
    }

    private static VideoSegmentConfig? SegmentConfig(VideoSegmentOptions? options)
    {
        if (options is null)
        {
            return null;
        }

        if (options.StartOffsetSec is < 0)
        {
            throw new InvalidInputException("Video StartOffsetSec must not be negative.");
        }

        if (options.StartOffsetSec is { } start && options.EndOffsetSec is { } end && end <= start)
        {
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture, $"Video EndOffsetSec ({end}) must be after StartOffsetSec ({start})."));
        }

        if (options.EndOffsetSec is <= 0)
        {
            throw new InvalidInputException("Video EndOffsetSec must be positive.");
        }

        if (options.IntervalSec is < 4)
        {
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture, $"Video IntervalSec is {options.IntervalSec}; the service needs segments of at least 4 seconds."));
        }

        return new VideoSegmentConfig { StartOffsetSec = options.StartOffsetSec, EndOffsetSec = options.EndOffsetSec, IntervalSec = options.IntervalSec };
    }

    private static MediaInput ImageInput(DataContent image, int index)
    {
        ArgumentNullException.ThrowIfNull(image, nameof(image));
        ReadOnlySpan<byte> bytes = image.Data.Span;
        if (bytes.IsEmpty)
        {
            throw new InvalidInputException($"Image input {index} is empty.");
        }

        if (bytes.Length > MaxImageBytes)
        {
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture,
                $"Image input {index} is {bytes.Length:N0} bytes; the service accepts at most {MaxImageBytes:N0} bytes (20 MB)."));
        }

        // The bytes decide the format; the declared media type is only a fallback for formats not recognised here.
        ImageFormat format = ImageHeader.Sniff(bytes);
        if (format == ImageFormat.Unknown)
        {
            format = ImageHeader.FromMediaType(image.MediaType);
        }

        // The service reads JPEG, PNG, GIF and BMP; mimeType may only name JPEG or PNG, the others are detected by the service.
        string? mimeType = format switch
        {
            ImageFormat.Jpeg => "image/jpeg",
            ImageFormat.Png => "image/png",
            ImageFormat.Gif or ImageFormat.Bmp => null,
            _ => throw new UnsupportedImageFormatException(
                $"{ImageHeader.MediaType(format) ?? image.MediaType} is not accepted by Vertex AI; use JPEG, PNG, GIF or BMP",
                string.Create(CultureInfo.InvariantCulture, $"image input {index}")),
        };
        return new MediaInput { BytesBase64Encoded = Convert.ToBase64String(bytes), MimeType = mimeType };
    }

    private static string CheckGcsUri(Uri gcsUri)
    {
        ArgumentNullException.ThrowIfNull(gcsUri);
        if (!gcsUri.IsAbsoluteUri || !string.Equals(gcsUri.Scheme, "gs", StringComparison.OrdinalIgnoreCase) || string.IsNullOrEmpty(gcsUri.Host))
        {
            throw new InvalidInputException($"'{gcsUri}' is not a Cloud Storage URI; expected gs://bucket/object.");
        }

        return gcsUri.OriginalString;
    }

    private int ResolveDimension(EmbeddingGenerationOptions? options)
    {
        int dimension = options?.Dimensions ?? Space.Dimensions;
        if (!SupportedDimensions.Contains(dimension))
        {
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture,
                $"Dimension {dimension} is not offered by {_modelId}; use 128, 256, 512 or 1408."));
        }

        if (options?.ModelId is { } model && !string.Equals(model, _modelId, StringComparison.Ordinal))
        {
            throw new InvalidInputException($"This generator is bound to model '{_modelId}', not '{model}'.");
        }

        return dimension;
    }

    private async Task<Prediction> PredictAsync(PredictRequest body, string operation, CancellationToken cancellationToken)
    {
        // Serialised once; every attempt sends the same bytes.
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(body, VertexAIJsonContext.Default.PredictRequest);
        PredictResponse response = await _sender.SendAsync(
            async ct =>
            {
                string token = await _tokens.GetTokenAsync(ct).ConfigureAwait(false);
                var request = new HttpRequestMessage(HttpMethod.Post, _predictUri) { Content = new ByteArrayContent(json) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                return request;
            },
            bytes => JsonSerializer.Deserialize(bytes.Span, VertexAIJsonContext.Default.PredictResponse)
                ?? throw new JsonException("the body is null"),
            operation,
            cancellationToken).ConfigureAwait(false);

        if (response.Predictions is not { Count: 1 } predictions)
        {
            throw Malformed(string.Create(CultureInfo.InvariantCulture, $"expected one prediction, got {response.Predictions?.Count ?? 0}"));
        }

        return predictions[0];
    }

    private Embedding<float> ToEmbedding(float[]? vector, string field, int expectedDimensions)
    {
        if (vector is null)
        {
            throw Malformed($"the prediction has no {field}");
        }

        if (vector.Length != expectedDimensions)
        {
            throw Malformed(string.Create(CultureInfo.InvariantCulture, $"{field} has {vector.Length} values, expected {expectedDimensions}"));
        }

        VectorMath.NormalizeInPlace(vector);
        return new Embedding<float>(vector) { ModelId = _modelId, CreatedAt = DateTimeOffset.UtcNow };
    }

    private static EmbeddingServiceException Malformed(string what) =>
        EmbeddingServiceException.MalformedResponse(ProviderName, what);

    private static void Validate(VertexAIOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Project))
        {
            throw new ModelConfigurationException("Vertex AI needs a project id: set VertexAIOptions.Project or GOOGLE_CLOUD_PROJECT.");
        }

        if (string.IsNullOrWhiteSpace(o.Location))
        {
            throw new ModelConfigurationException("Vertex AI needs a location (e.g. us-central1): set VertexAIOptions.Location or GOOGLE_CLOUD_LOCATION.");
        }

        if (string.IsNullOrWhiteSpace(o.ModelId))
        {
            throw new ModelConfigurationException("VertexAIOptions.ModelId is empty.");
        }

        if (!SupportedDimensions.Contains(o.Dimensions))
        {
            throw new ModelConfigurationException(string.Create(CultureInfo.InvariantCulture,
                $"VertexAIOptions.Dimensions is {o.Dimensions}; the model offers 128, 256, 512 or 1408."));
        }

        if (o.Endpoint is { } e && (!e.IsAbsoluteUri || (e.Scheme != Uri.UriSchemeHttps && e.Scheme != Uri.UriSchemeHttp)))
        {
            throw new ModelConfigurationException($"VertexAIOptions.Endpoint must be an absolute http(s) URL, not '{e}'.");
        }

        if (o.MaxVideoRequestSec is < 4 or > VertexAIOptions.ServiceVideoWindowSec)
        {
            throw new ModelConfigurationException(string.Create(CultureInfo.InvariantCulture,
                $"VertexAIOptions.MaxVideoRequestSec is {o.MaxVideoRequestSec}; it must be between 4 (the shortest segment) and {VertexAIOptions.ServiceVideoWindowSec} (what the service analyses per request)."));
        }

        if (o.MaxVideoRequestBytes < 64 * 1024)
        {
            throw new ModelConfigurationException(string.Create(CultureInfo.InvariantCulture,
                $"VertexAIOptions.MaxVideoRequestBytes is {o.MaxVideoRequestBytes}; it must be at least 65536."));
        }

        o.ValidateShared(nameof(VertexAIOptions));
    }

    private static Uri DefaultEndpoint(string location) =>
        string.Equals(location, "global", StringComparison.OrdinalIgnoreCase)
            ? new Uri("https://aiplatform.googleapis.com/")
            : new Uri($"https://{location}-aiplatform.googleapis.com/");

    private static Uri EnsureTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        MultimodalEmbeddingGenerator.GetService(this, _metadata, serviceType, serviceKey);

    private void ThrowIfDisposed() => _sender.ThrowIfDisposed(this);

    /// <inheritdoc />
    public void Dispose() => _sender.Dispose();
}

internal static partial class VideoLog
{
    [LoggerMessage(EventId = 20, Level = LogLevel.Warning,
        Message = "google: {Path}: FFmpeg is not installed, so the video is sent whole; the service analyses only its first 2 minutes")]
    public static partial void NoFfmpeg(ILogger logger, string path);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug,
        Message = "google: {Path}: piece {Index} {StartSec:0.###}-{EndSec:0.###} s, {Bytes} bytes, re-encoded: {Reencoded}")]
    public static partial void Piece(ILogger logger, string path, int index, double startSec, double endSec, int bytes, bool reencoded);
}
