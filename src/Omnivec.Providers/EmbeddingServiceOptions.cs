namespace Omnivec.Providers;

/// <summary>Settings every cloud embedding provider shares: concurrency, the per-attempt timeout and the retry policy.</summary>
public abstract class EmbeddingServiceOptions
{
    /// <summary>Requests in flight at once per generator (the services embed one input per request).</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>Time allowed for each attempt of a request.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after the first attempt on 408/429/5xx, timeouts and network errors.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>First backoff step; doubles per retry, with jitter. A Retry-After header takes precedence.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between attempts, Retry-After included.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ModelConfigurationException"/> naming <paramref name="owner"/> when a shared setting is out of range.</summary>
    internal void ValidateShared(string owner)
    {
        if (MaxConcurrency < 1)
        {
            throw new ModelConfigurationException($"{owner}.MaxConcurrency must be at least 1.");
        }

        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ModelConfigurationException($"{owner}.Timeout must be positive.");
        }

        if (MaxRetries < 0)
        {
            throw new ModelConfigurationException($"{owner}.MaxRetries must not be negative.");
        }

        if (RetryBaseDelay < TimeSpan.Zero || MaxRetryDelay < TimeSpan.Zero)
        {
            throw new ModelConfigurationException($"{owner} retry delays must not be negative.");
        }
    }
}
