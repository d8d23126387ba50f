using System.Net;
using System.Net.Http.Headers;
using Polly;
using Polly.Retry;

namespace Omnivec.Http;

/// <summary>How often and how patiently to retry; the same three numbers for the Hub and every cloud provider.</summary>
/// <param name="MaxRetries">Retries after the first attempt (0: one attempt only).</param>
/// <param name="BaseDelay">The first backoff step; it doubles per retry.</param>
/// <param name="MaxDelay">The longest single wait, the server's Retry-After included.</param>
public sealed record RetrySettings(int MaxRetries, TimeSpan BaseDelay, TimeSpan MaxDelay);

/// <summary>What a retry is about to do, for logging.</summary>
/// <param name="Retry">1 for the first retry.</param>
/// <param name="MaxRetries">The configured number of retries.</param>
/// <param name="Delay">The wait before the retry.</param>
/// <param name="Failure">The failure of the attempt that is retried.</param>
public readonly record struct RetryAttempt(int Retry, int MaxRetries, TimeSpan Delay, TransientFailureException Failure);

/// <summary>
/// The one retry policy of Omnivec's HTTP clients (model download and cloud embedding services), run by Polly.
/// An attempt signals "worth retrying" by throwing <see cref="TransientFailureException"/> (see <see cref="IsRetryable"/>
/// for the statuses); anything else ends the operation at once. The wait before retry n (0-based) is the server's
/// Retry-After when it sent one, else an exponential step min(BaseDelay·2ⁿ, MaxDelay) with jitter drawn uniformly from
/// [½, 1] of the step; never more than <see cref="RetrySettings.MaxDelay"/>.
/// </summary>
/// <remarks>
/// Retries wrap a whole attempt (request, status check, body read), not a single <c>SendAsync</c>: the Hub resumes a
/// download from the bytes already on disk and re-resolves redirects on every attempt, and the providers re-authorize
/// and re-read the body. A <see cref="DelegatingHandler"/> would only see the request.
/// </remarks>
public sealed class RetryPolicy
{
    private readonly ResiliencePipeline _pipeline;
    private readonly Func<double> _random;

    /// <summary>A policy with <paramref name="settings"/>; <paramref name="random"/> (values in [0, 1)) and <paramref name="timeProvider"/> are for tests.</summary>
    public RetryPolicy(RetrySettings settings, Func<double>? random = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfNegative(settings.MaxRetries);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.BaseDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.MaxDelay, TimeSpan.Zero);
        Settings = settings;
#pragma warning disable CA5394 // Jitter spreads retries of many clients; it needs no cryptographic randomness.
        _random = random ?? Random.Shared.NextDouble;
#pragma warning restore CA5394

        if (settings.MaxRetries == 0)
        {
            _pipeline = ResiliencePipeline.Empty;
            return;
        }

        var builder = new ResiliencePipelineBuilder();
        if (timeProvider is not null)
        {
            builder.TimeProvider = timeProvider;
        }

        _pipeline = builder.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<TransientFailureException>(),
            MaxRetryAttempts = settings.MaxRetries,
            DelayGenerator = args => new ValueTask<TimeSpan?>(
                DelayFor(args.AttemptNumber, (args.Outcome.Exception as TransientFailureException)?.RetryAfter)),
            OnRetry = args =>
            {
                if (args.Context.Properties.TryGetValue(OnRetryKey, out Action<RetryAttempt>? onRetry))
                {
                    onRetry(new RetryAttempt(args.AttemptNumber + 1, settings.MaxRetries, args.RetryDelay, (TransientFailureException)args.Outcome.Exception!));
                }

                return default;
            },
        }).Build();
    }

    private static readonly ResiliencePropertyKey<Action<RetryAttempt>> OnRetryKey = new("Omnivec.OnRetry");

    /// <summary>The numbers this policy was made with.</summary>
    public RetrySettings Settings { get; }

    /// <summary>
    /// Runs <paramref name="attempt"/> until it succeeds, throws something other than <see cref="TransientFailureException"/>,
    /// or the retries run out (the last <see cref="TransientFailureException"/> is then rethrown). <paramref name="onRetry"/>
    /// is told before each wait. Cancellation ends the waits at once.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(Func<CancellationToken, ValueTask<T>> attempt, Action<RetryAttempt>? onRetry = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        ResilienceContext context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            if (onRetry is not null)
            {
                context.Properties.Set(OnRetryKey, onRetry);
            }

            return await _pipeline.ExecuteAsync(static (ctx, a) => a(ctx.CancellationToken), context, attempt).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// The wait before retry <paramref name="retry"/> (0 for the first): <paramref name="retryAfter"/> when given, else
    /// min(BaseDelay·2^retry, MaxDelay) times a jitter factor in [½, 1]; capped at MaxDelay either way.
    /// </summary>
    public TimeSpan DelayFor(int retry, TimeSpan? retryAfter)
    {
        TimeSpan max = Settings.MaxDelay;
        if (retryAfter is { } after)
        {
            return after < TimeSpan.Zero ? TimeSpan.Zero : after > max ? max : after;
        }

        double step = Settings.BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(retry, 0, 30));
        step = Math.Min(step, max.TotalMilliseconds);
        double factor = 0.5 + (Math.Clamp(_random(), 0, 1) * 0.5);
        return TimeSpan.FromMilliseconds(step * factor);
    }

    /// <summary>408, 429 and every 5xx: statuses where the same request may succeed later.</summary>
    public static bool IsRetryable(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status is >= 500 and < 600;

    /// <summary>The response's Retry-After (delta seconds or an HTTP date) as a wait; null when absent.</summary>
    public static TimeSpan? ReadRetryAfter(HttpResponseMessage response, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        return ReadRetryAfter(response.Headers.RetryAfter, now);
    }

    /// <summary>A Retry-After header (delta seconds or an HTTP date) as a wait, never negative; null when absent.</summary>
    public static TimeSpan? ReadRetryAfter(RetryConditionHeaderValue? header, DateTimeOffset? now = null)
    {
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            TimeSpan wait = date - (now ?? DateTimeOffset.UtcNow);
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }
}
