using System.Globalization;

namespace Omnivec.Providers.Google;

/// <summary>Settings for <see cref="VertexAIEmbeddingGenerator"/>.</summary>
public sealed class VertexAIOptions : EmbeddingServiceOptions
{
    /// <summary>The multimodal embedding model this provider speaks to.</summary>
    public const string DefaultModelId = "multimodalembedding@001";

    /// <summary>Google Cloud project id (required). Environment: GOOGLE_CLOUD_PROJECT.</summary>
    public string? Project { get; set; }

    /// <summary>Region, e.g. "us-central1". Environment: GOOGLE_CLOUD_LOCATION.</summary>
    public string Location { get; set; } = "us-central1";

    /// <summary>Service root; defaults to https://{Location}-aiplatform.googleapis.com. Environment: OMNIVEC_VERTEX_ENDPOINT.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The Vertex AI model id, e.g. <c>multimodalembedding@001</c>.</summary>
    public string ModelId { get; set; } = DefaultModelId;

    /// <summary>128, 256, 512 or 1408 (video embeddings exist only at 1408). Environment: OMNIVEC_VERTEX_DIMENSIONS.</summary>
    public int Dimensions { get; set; } = 1408;

    /// <summary>
    /// OAuth access token used as is. When null: GOOGLE_OAUTH_ACCESS_TOKEN, then <see cref="CredentialsFile"/>,
    /// then Application Default Credentials.
    /// </summary>
    public string? AccessToken { get; set; }

    /// <summary>Path of a service-account key file (JSON). Only read when no access token is given.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>
    /// The longest stretch of video the service analyses in one request: 120 s. Google's documentation of
    /// multimodalembedding@001 says "only 2 minutes of content can be analyzed at a time" and that an end offset beyond
    /// start + 120 s is cut to it (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/multimodal-embeddings-api).
    /// </summary>
    public const int ServiceVideoWindowSec = 120;

    /// <summary>
    /// Longest piece of a video file sent in one request, in seconds (4 to 120; default 120, the service's window). A
    /// longer video file is split with FFmpeg so every part of it is embedded, not only its first two minutes.
    /// </summary>
    public int MaxVideoRequestSec { get; set; } = ServiceVideoWindowSec;

    /// <summary>
    /// Largest video sent inline in one request, in bytes (default 20 MiB; base64 makes the request about a third larger).
    /// Google documents 20 MB for inline images and no figure for inline video; a larger video file is split (and
    /// re-encoded when a copied piece would still be too large) so each request stays within this.
    /// </summary>
    public long MaxVideoRequestBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>FFmpeg for splitting long or large video files (default settings when null).</summary>
    public Omnivec.Media.FfmpegOptions? Ffmpeg { get; set; }

    /// <summary>Folder for the temporary pieces of a split video (the system's temporary folder when null); they are deleted as soon as they are sent.</summary>
    public string? VideoTempDirectory { get; set; }

    /// <summary>
    /// Options from GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION, OMNIVEC_VERTEX_ENDPOINT, OMNIVEC_VERTEX_DIMENSIONS and
    /// GOOGLE_OAUTH_ACCESS_TOKEN; unset variables leave the defaults.
    /// </summary>
    public static VertexAIOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    internal static VertexAIOptions FromEnvironment(Func<string, string?> getVariable)
    {
        var options = new VertexAIOptions
        {
            Project = NonEmpty(getVariable("GOOGLE_CLOUD_PROJECT")),
            AccessToken = NonEmpty(getVariable("GOOGLE_OAUTH_ACCESS_TOKEN")),
        };
        if (NonEmpty(getVariable("GOOGLE_CLOUD_LOCATION")) is { } location)
        {
            options.Location = location;
        }

        if (NonEmpty(getVariable("OMNIVEC_VERTEX_ENDPOINT")) is { } endpoint)
        {
            options.Endpoint = Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri)
                ? uri
                : throw new ModelConfigurationException($"OMNIVEC_VERTEX_ENDPOINT is not an absolute URL: '{endpoint}'.");
        }

        if (NonEmpty(getVariable("OMNIVEC_VERTEX_DIMENSIONS")) is { } dims)
        {
            options.Dimensions = int.TryParse(dims, NumberStyles.None, CultureInfo.InvariantCulture, out int d)
                ? d
                : throw new ModelConfigurationException($"OMNIVEC_VERTEX_DIMENSIONS is not a number: '{dims}'.");
        }

        return options;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>Which part of a video to embed, in whole seconds; null fields take the service's defaults.</summary>
public sealed record VideoSegmentOptions
{
    /// <summary>Where to start, in seconds from the beginning; the service's default (0) when null.</summary>
    public int? StartOffsetSec { get; init; }
    /// <summary>Where to stop, in seconds; the service's default when null.</summary>
    public int? EndOffsetSec { get; init; }

    /// <summary>Length of each embedded segment; at least 4 seconds.</summary>
    public int? IntervalSec { get; init; }
}

/// <summary>One embedded stretch of a video.</summary>
public sealed record VideoSegmentEmbedding(double StartOffsetSec, double EndOffsetSec, Microsoft.Extensions.AI.Embedding<float> Embedding);
