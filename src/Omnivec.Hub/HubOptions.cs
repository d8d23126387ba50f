namespace Omnivec.Hub;

/// <summary>
/// Where the Hub and the cache are and how patiently to talk to the Hub. <see cref="FromEnvironment()"/> reads the same
/// variables as huggingface_hub, so the cache is shared with Python tools.
/// </summary>
public sealed class HubOptions
{
    /// <summary>The public Hub.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>Base URL of the Hub or a mirror (HF_ENDPOINT).</summary>
    public Uri Endpoint { get; init; } = new(DefaultEndpoint);

    /// <summary>Access token sent as a Bearer token to <see cref="Endpoint"/> only (never to the CDN it redirects to).</summary>
    public string? Token { get; init; }

    /// <summary>Root of the hub cache (the folder holding models--org--name folders).</summary>
    public string CacheDirectory { get; init; } = DefaultCacheDirectory(Environment.GetEnvironmentVariable);

    /// <summary>Never touch the network; only the cache is used (HF_HUB_OFFLINE=1).</summary>
    public bool Offline { get; init; }

    /// <summary>
    /// When false (default), a revision whose ref already points to a complete snapshot is used without asking the Hub.
    /// When true, branch and tag names are re-resolved with one info request and new commits are downloaded.
    /// </summary>
    public bool CheckForUpdates { get; init; }

    /// <summary>Retries after a 429, 5xx, dropped connection or timeout, before giving up.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>First retry delay; doubles each time, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest single wait between retries, also the cap on a server's Retry-After.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed to open a connection (HF_HUB_ETAG_TIMEOUT in seconds).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest silence while waiting for response headers or body bytes before the attempt is retried (HF_HUB_DOWNLOAD_TIMEOUT).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long to wait for another process downloading the same file.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Options from the environment, as huggingface_hub reads it.</summary>
    public static HubOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    internal static HubOptions FromEnvironment(Func<string, string?> env)
    {
        string? endpoint = NonEmpty(env("HF_ENDPOINT"));
        Uri endpointUri = new(DefaultEndpoint);
        if (endpoint is not null)
        {
            if (!Uri.TryCreate(endpoint.TrimEnd('/'), UriKind.Absolute, out Uri? parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
            {
                throw new ModelConfigurationException($"HF_ENDPOINT must be an http(s) URL, got '{endpoint}'.");
            }

            endpointUri = parsed;
        }

        var defaults = new HubOptions();
        return new HubOptions
        {
            Endpoint = endpointUri,
            Token = ReadToken(env),
            CacheDirectory = DefaultCacheDirectory(env),
            Offline = IsTrue(env("HF_HUB_OFFLINE")),
            ConnectTimeout = Seconds(env("HF_HUB_ETAG_TIMEOUT")) ?? defaults.ConnectTimeout,
            ReadTimeout = Seconds(env("HF_HUB_DOWNLOAD_TIMEOUT")) ?? defaults.ReadTimeout,
        };
    }

    /// <summary>HF_HOME: $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.</summary>
    internal static string HfHome(Func<string, string?> env) =>
        ExpandHome(NonEmpty(env("HF_HOME")))
        ?? Path.Combine(ExpandHome(NonEmpty(env("XDG_CACHE_HOME"))) ?? Path.Combine(UserHome(), ".cache"), "huggingface");

    internal static string DefaultCacheDirectory(Func<string, string?> env) =>
        ExpandHome(NonEmpty(env("HF_HUB_CACHE")))
        ?? ExpandHome(NonEmpty(env("HUGGINGFACE_HUB_CACHE")))
        ?? Path.Combine(HfHome(env), "hub");

    private static string? ReadToken(Func<string, string?> env)
    {
        string? token = NonEmpty(env("HF_TOKEN")?.Trim()) ?? NonEmpty(env("HUGGING_FACE_HUB_TOKEN")?.Trim());
        if (token is not null)
        {
            return token;
        }

        string path = ExpandHome(NonEmpty(env("HF_TOKEN_PATH"))) ?? Path.Combine(HfHome(env), "token");
        try
        {
            return File.Exists(path) ? NonEmpty(File.ReadAllText(path).Trim()) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsTrue(string? value) =>
        value?.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static TimeSpan? Seconds(string? value) =>
        double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : null;

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static string UserHome() => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static string? ExpandHome(string? path) =>
        path is null ? null
        : path == "~" ? UserHome()
        : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(UserHome(), path[2..])
        : path;

    /// <summary>Never prints the token.</summary>
    public override string ToString() =>
        $"Endpoint={Endpoint}, Cache={CacheDirectory}, Offline={Offline}, Token={(Token is null ? "none" : "set")}";
}
