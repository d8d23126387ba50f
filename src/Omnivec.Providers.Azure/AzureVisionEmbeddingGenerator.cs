using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Omnivec.Providers.Azure;

/// <summary>
/// Text and image embeddings from Azure AI Vision's multimodal embeddings (retrieval:vectorizeText / vectorizeImage).
/// One request per input, up to <see cref="EmbeddingServiceOptions.MaxConcurrency"/> at once; vectors are L2-normalised here.
/// </summary>
public sealed partial class AzureVisionEmbeddingGenerator : IMultimodalEmbeddingGenerator, IDisposable
{
    internal const string ProviderName = "azure";

    /// <summary>The model name recorded in <see cref="Space"/>; the model version is its revision.</summary>
    public const string ModelName = "multimodal-embeddings";

    /// <summary>Length of every vector the service returns.</summary>
    public const int Dimensions = 1024;

    /// <summary>Images must be smaller than this many bytes (20 MB).</summary>
    public const int MaxImageBytes = 20 * 1024 * 1024;

    /// <summary>Smallest and largest accepted width and height, in pixels.</summary>
    public const int MinImageSide = 10, MaxImageSide = 16000;

    /// <summary>Most words a text may have.</summary>
    public const int MaxTextWords = 70;

    internal const string TokenScope = "https://cognitiveservices.azure.com/.default";

    private readonly ServiceRequestSender _sender;
    private readonly string? _apiKey;
    private readonly TokenCredential? _credential;
    private readonly Lock _tokenGate = new();
    private AccessToken? _cachedToken;
    private Task<AccessToken>? _tokenFetch;
    private volatile string? _currentToken; // for redaction, readable without the lock
    private readonly Uri _textUri;
    private readonly Uri _imageUri;
    private readonly string _modelVersion;
    private readonly int _maxConcurrency;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Creates a generator. The client is not disposed here when given; when null, one is created and owned.</summary>
    public AzureVisionEmbeddingGenerator(AzureVisionOptions options, HttpClient? httpClient = null, ILogger? logger = null)
        : this(options, httpClient, null, logger)
    {
    }

    /// <summary>For IHttpClientFactory: <paramref name="clientFactory"/> is asked for a client per request.</summary>
    internal AzureVisionEmbeddingGenerator(AzureVisionOptions options, HttpClient? httpClient, Func<HttpClient>? clientFactory, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        ILogger log = logger ?? NullLogger.Instance;
        _modelVersion = options.ModelVersion;
        _maxConcurrency = options.MaxConcurrency;
        _apiKey = string.IsNullOrWhiteSpace(options.ApiKey) ? null : options.ApiKey.Trim();
        _credential = _apiKey is null ? options.TokenCredential ?? new DefaultAzureCredential() : null;
        ProviderLog.AuthKind(log, ProviderName, _apiKey is not null ? "subscription key" : options.TokenCredential is null ? "DefaultAzureCredential" : "token credential");

        Uri root = options.Endpoint!.AbsoluteUri.EndsWith('/') ? options.Endpoint : new Uri(options.Endpoint.AbsoluteUri + "/");
        string query = string.Create(CultureInfo.InvariantCulture,
            $"?api-version={Uri.EscapeDataString(options.ApiVersion)}&model-version={Uri.EscapeDataString(options.ModelVersion)}");
        _textUri = new Uri(root, "computervision/retrieval:vectorizeText" + query);
        _imageUri = new Uri(root, "computervision/retrieval:vectorizeImage" + query);


        _sender = new ServiceRequestSender(
            httpClient,
            clientFactory,
            options,
            log,
            ProviderName,
            AzureErrorBody.Read,
            () => [_apiKey, _currentToken]);

        Space = new EmbeddingSpace(ProviderName, ModelName, options.ModelVersion, Dimensions) { Modalities = Modalities.Text | Modalities.Image };
        _metadata = new EmbeddingGeneratorMetadata(ProviderName, root, ModelName + "@" + options.ModelVersion, Dimensions);
    }

    /// <summary>The space this generator's vectors belong to (Azure AI Vision, the configured model version, 1024-d).</summary>
    public EmbeddingSpace Space { get; }

    /// <summary>Embeds texts of 1 to 70 words, one vector per text in input order.</summary>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ThrowIfDisposed();
        CheckOptions(options);
        string[] texts = values.ToArray();
        for (int i = 0; i < texts.Length; i++)
        {
            int words = CountWords(texts[i]);
            if (words is 0 or > MaxTextWords)
            {
                throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture,
                    $"Text input {i} has {words} words; Azure AI Vision embeds texts of 1 to {MaxTextWords} words."));
            }
        }

        Embedding<float>[] results = await OrderedParallel.MapAsync(texts, _maxConcurrency, (text, _, ct) =>
        {
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(new VectorizeTextRequest { Text = text }, AzureVisionJsonContext.Default.VectorizeTextRequest);
            return VectorizeAsync(_textUri, json, "application/json", "vectorizeText", ct);
        }, cancellationToken).ConfigureAwait(false);
        return new GeneratedEmbeddings<Embedding<float>>(results);
    }

    /// <summary>
    /// Embeds images (JPEG, PNG, GIF, BMP, WebP, ICO, TIFF; under 20 MB; 10 to 16000 pixels a side), one vector per image in input order.
    /// </summary>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ThrowIfDisposed();
        CheckOptions(options);
        DataContent[] images = values.ToArray();
        for (int i = 0; i < images.Length; i++)
        {
            CheckImage(images[i], i);
        }

        Embedding<float>[] results = await OrderedParallel.MapAsync(images, _maxConcurrency, (image, _, ct) =>
            VectorizeAsync(_imageUri, image.Data, "application/octet-stream", "vectorizeImage", ct), cancellationToken).ConfigureAwait(false);
        return new GeneratedEmbeddings<Embedding<float>>(results);
    }

    /// <summary>Embeds an image the service fetches itself from a public http(s) URL.</summary>
    public Task<Embedding<float>> GenerateImageEmbeddingAsync(Uri imageUrl, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imageUrl);
        ThrowIfDisposed();
        if (!imageUrl.IsAbsoluteUri || (imageUrl.Scheme != Uri.UriSchemeHttps && imageUrl.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidInputException($"'{imageUrl}' is not an http(s) URL the service can fetch.");
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(new VectorizeUrlRequest { Url = imageUrl.AbsoluteUri }, AzureVisionJsonContext.Default.VectorizeUrlRequest);
        return VectorizeAsync(_imageUri, json, "application/json", "vectorizeImage", cancellationToken);
    }

    internal static void CheckImage(DataContent image, int index)
    {
        ArgumentNullException.ThrowIfNull(image, nameof(image));
        ReadOnlySpan<byte> bytes = image.Data.Span;
        string source = string.Create(CultureInfo.InvariantCulture, $"image input {index}");
        if (bytes.IsEmpty)
        {
            throw new InvalidInputException($"Image input {index} is empty.");
        }

        if (bytes.Length >= MaxImageBytes)
        {
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture,
                $"Image input {index} is {bytes.Length:N0} bytes; Azure AI Vision needs images under {MaxImageBytes:N0} bytes (20 MB)."));
        }

        (ImageFormat format, int width, int height) = ImageHeader.Identify(bytes);
        switch (format)
        {
            case not (ImageFormat.Jpeg or ImageFormat.Png or ImageFormat.Gif or ImageFormat.Bmp or ImageFormat.WebP or ImageFormat.Ico or ImageFormat.Tiff):
                throw new UnsupportedImageFormatException(
                    $"not an image format Azure AI Vision reads ({(format == ImageFormat.Unknown ? "declared as " + image.MediaType : ImageHeader.Name(format))}); use JPEG, PNG, GIF, BMP, WebP, ICO or TIFF", source);
            case ImageFormat.Tiff or ImageFormat.Ico:
                return; // sizes not read here; the service checks them
            default:
                if (width == 0 || height == 0)
                {
                    throw new CorruptImageException($"the {format} header is damaged or cut short; its size cannot be read", source);
                }

                if (width < MinImageSide || height < MinImageSide || width > MaxImageSide || height > MaxImageSide)
                {
                    throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture,
                        $"Image input {index} is {width}x{height} pixels; Azure AI Vision needs {MinImageSide} to {MaxImageSide} pixels a side."));
                }

                return;
        }
    }

    internal static int CountWords(string? text)
    {
        if (text is null)
        {
            return 0;
        }

        int words = 0;
        bool inWord = false;
        foreach (char c in text)
        {
            bool space = char.IsWhiteSpace(c);
            if (!space && !inWord)
            {
                words++;
            }

            inWord = !space;
        }

        return words;
    }

    private async Task<Embedding<float>> VectorizeAsync(Uri uri, ReadOnlyMemory<byte> body, string contentType, string operation, CancellationToken cancellationToken)
    {
        VectorizeResponse response = await _sender.SendAsync(
            async ct =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ReadOnlyMemoryContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
                await AuthorizeAsync(request, ct).ConfigureAwait(false);
                return request;
            },
            bytes => JsonSerializer.Deserialize(bytes.Span, AzureVisionJsonContext.Default.VectorizeResponse)
                ?? throw new JsonException("the body is null"),
            operation,
            cancellationToken).ConfigureAwait(false);

        if (!string.Equals(response.ModelVersion, _modelVersion, StringComparison.Ordinal))
        {
            // Vectors of another model version live in another space; never mix them silently.
            throw Malformed($"the service answered with model version '{response.ModelVersion}', not the requested '{_modelVersion}'");
        }

        if (response.Vector is not { } vector)
        {
            throw Malformed("the response has no vector");
        }

        if (vector.Length != Dimensions)
        {
            throw Malformed(string.Create(CultureInfo.InvariantCulture, $"the vector has {vector.Length} values, expected {Dimensions}"));
        }

        VectorMath.NormalizeInPlace(vector);
        return new Embedding<float>(vector) { ModelId = ModelName + "@" + _modelVersion, CreatedAt = DateTimeOffset.UtcNow };
    }

    private async Task AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_apiKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Ocp-Apim-Subscription-Key", _apiKey);
            return;
        }

        Task<AccessToken> fetch;
        lock (_tokenGate)
        {
            // Refresh five minutes early so a token never expires in flight; concurrent requests share one fetch.
            if (_cachedToken is { } cached && cached.ExpiresOn > DateTimeOffset.UtcNow.AddMinutes(5))
            {
                fetch = Task.FromResult(cached);
            }
            else
            {
                if (_tokenFetch is null || _tokenFetch.IsCompleted)
                {
                    _tokenFetch = Task.Run(FetchTokenAsync); // off the lock: credentials may block before their first await
                }

                fetch = _tokenFetch;
            }
        }

        AccessToken token = await fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
    }

    private async Task<AccessToken> FetchTokenAsync()
    {
        AccessToken token;
        try
        {
            // Not tied to one caller's cancellation: other requests may be waiting on this fetch.
            token = await _credential!.GetTokenAsync(new TokenRequestContext([TokenScope]), CancellationToken.None).ConfigureAwait(false);
        }
        catch (AuthenticationFailedException ex)
        {
            throw new EmbeddingServiceException(ProviderName, null, "AuthenticationFailed",
                "could not get a Microsoft Entra ID token: " + ex.Message + " Set AzureVisionOptions.ApiKey or AZURE_VISION_KEY, or sign in (az login).", ex);
        }

        lock (_tokenGate)
        {
            _cachedToken = token;
            _currentToken = token.Token;
        }

        return token;
    }

    private static void CheckOptions(EmbeddingGenerationOptions? options)
    {
        if (options?.Dimensions is { } d && d != Dimensions)
        {
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture, $"Azure AI Vision returns {Dimensions}-dimensional vectors only, not {d}."));
        }
    }

    private static EmbeddingServiceException Malformed(string what) =>
        EmbeddingServiceException.MalformedResponse(ProviderName, what);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}$", RegexOptions.CultureInvariant)]
    private static partial Regex DatedVersion();

    private static void Validate(AzureVisionOptions o)
    {
        if (o.Endpoint is not { IsAbsoluteUri: true } e || (e.Scheme != Uri.UriSchemeHttps && e.Scheme != Uri.UriSchemeHttp))
        {
            throw new ModelConfigurationException("Azure AI Vision needs the resource endpoint (https://<name>.cognitiveservices.azure.com): set AzureVisionOptions.Endpoint or AZURE_VISION_ENDPOINT.");
        }

        if (string.IsNullOrWhiteSpace(o.ModelVersion) || !DatedVersion().IsMatch(o.ModelVersion))
        {
            // "latest" would make the vector space change under a stored collection.
            throw new ModelConfigurationException($"AzureVisionOptions.ModelVersion must be a dated version such as 2023-04-15 or 2022-04-11, not '{o.ModelVersion}'.");
        }

        if (string.IsNullOrWhiteSpace(o.ApiVersion))
        {
            throw new ModelConfigurationException("AzureVisionOptions.ApiVersion is empty.");
        }

        o.ValidateShared(nameof(AzureVisionOptions));
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        MultimodalEmbeddingGenerator.GetService(this, _metadata, serviceType, serviceKey);

    private void ThrowIfDisposed() => _sender.ThrowIfDisposed(this);

    /// <inheritdoc />
    public void Dispose() => _sender.Dispose();
}
