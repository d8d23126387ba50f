using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;

#if OMNIVEC_GOOGLE
namespace Omnivec.Providers.Google;
#else
namespace Omnivec.Providers.Azure;
#endif

/// <summary>Retry and timeout settings copied from the provider options at construction.</summary>
internal sealed record RetrySettings(int MaxRetries, TimeSpan Timeout, TimeSpan BaseDelay, TimeSpan MaxDelay);

/// <summary>
/// Sends one logical request with per-attempt timeouts, exponential backoff with jitter on 408/429/5xx and
/// network failures (honouring Retry-After), a generator-wide cap on requests in flight, and typed errors.
/// </summary>
internal sealed class ServiceRequestSender : IDisposable
{
    private readonly RetrySettings _retry;
    private readonly ILogger _logger;
    private readonly string _provider;
    private readonly Func<JsonElement, (string? Code, string? Message)> _readError;
    private readonly Func<IEnumerable<string?>> _secrets;
    private readonly Func<HttpClient> _http;
    private readonly SemaphoreSlim _inFlight;

    public ServiceRequestSender(
        Func<HttpClient> http,
        RetrySettings retry,
        int maxConcurrency,
        ILogger logger,
        string provider,
        Func<JsonElement, (string? Code, string? Message)> readError,
        Func<IEnumerable<string?>> secrets)
    {
        _http = http;
        _retry = retry;
        _logger = logger;
        _provider = provider;
        _readError = readError;
        _secrets = secrets;
        _inFlight = new SemaphoreSlim(maxConcurrency, maxConcurrency);
    }

    /// <summary>
    /// Sends the request made by <paramref name="createRequest"/> (called again for every attempt, since a request
    /// message cannot be resent) and parses a successful body with <paramref name="parse"/>.
    /// </summary>
    public async Task<T> SendAsync<T>(
        Func<CancellationToken, Task<HttpRequestMessage>> createRequest,
        Func<ReadOnlyMemory<byte>, T> parse,
        string operation,
        CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            TimeSpan? retryAfter = null;
            string reason;

            await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attemptCts.CancelAfter(_retry.Timeout);
                try
                {
                    using HttpRequestMessage request = await createRequest(attemptCts.Token).ConfigureAwait(false);
                    using HttpResponseMessage response = await _http()
                        .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptCts.Token)
                        .ConfigureAwait(false);
                    byte[] body = await response.Content.ReadAsByteArrayAsync(attemptCts.Token).ConfigureAwait(false);

                    if (response.IsSuccessStatusCode)
                    {
                        return ParseSuccess(parse, body, response.StatusCode);
                    }

                    EmbeddingServiceException error = BuildError(response.StatusCode, body);
                    if (!IsRetryable(response.StatusCode) || attempt >= _retry.MaxRetries)
                    {
                        throw error;
                    }

                    retryAfter = ReadRetryAfter(response.Headers.RetryAfter);
                    reason = string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode}");
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (OperationCanceledException ex)
                {
                    // Only the per-attempt timer can have fired here.
                    if (attempt >= _retry.MaxRetries)
                    {
                        throw new EmbeddingServiceException(_provider, null, "Timeout",
                            string.Create(CultureInfo.InvariantCulture, $"{operation}: no response within {_retry.Timeout.TotalSeconds:0.###} s (attempt {attempt + 1} of {_retry.MaxRetries + 1})"), ex);
                    }

                    reason = "timeout";
                }
                catch (HttpRequestException ex)
                {
                    if (attempt >= _retry.MaxRetries)
                    {
                        throw new EmbeddingServiceException(_provider, null, "NetworkError", Redact($"{operation}: {ex.Message}"), ex);
                    }

                    reason = "network error";
                }
            }
            finally
            {
                _inFlight.Release();
            }

            TimeSpan delay = ComputeDelay(attempt, retryAfter);
            ProviderLog.Retrying(_logger, _provider, operation, reason, delay.TotalMilliseconds, attempt + 1, _retry.MaxRetries);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private T ParseSuccess<T>(Func<ReadOnlyMemory<byte>, T> parse, byte[] body, HttpStatusCode status)
    {
        try
        {
            return parse(body);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or InvalidDataException)
        {
            throw new EmbeddingServiceException(_provider, status, "MalformedResponse", Redact("the response body could not be read: " + ex.Message), ex);
        }
    }

    internal static bool IsRetryable(HttpStatusCode status) => status is
        HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or
        HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    /// <summary>Retry-After as a delay (delta seconds or an HTTP date); null when absent.</summary>
    internal static TimeSpan? ReadRetryAfter(RetryConditionHeaderValue? header, DateTimeOffset? now = null)
    {
        if (header is null)
        {
            return null;
        }

        if (header.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header.Date is { } date)
        {
            TimeSpan wait = date - (now ?? DateTimeOffset.UtcNow);
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    /// <summary>The service's Retry-After when given (capped), else exponential backoff with jitter in [½, 1] of the step.</summary>
    internal TimeSpan ComputeDelay(int attempt, TimeSpan? retryAfter)
    {
        if (retryAfter is { } ra)
        {
            return ra > _retry.MaxDelay ? _retry.MaxDelay : ra;
        }

        double step = _retry.BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        step = Math.Min(step, _retry.MaxDelay.TotalMilliseconds);
#pragma warning disable CA5394 // Jitter spreads retries; it needs no cryptographic randomness.
        double jittered = step * (0.5 + (Random.Shared.NextDouble() * 0.5));
#pragma warning restore CA5394
        return TimeSpan.FromMilliseconds(jittered);
    }

    private EmbeddingServiceException BuildError(HttpStatusCode status, byte[] body)
    {
        (string? code, string? message) = (null, null);
        try
        {
            (code, message) = ReadErrorBody(body);
        }
        catch (JsonException)
        {
            // Not the documented error body (a proxy page, say): fall back to the raw text below.
        }

        if (string.IsNullOrWhiteSpace(message))
        {
            string raw = System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 500)).Trim();
            message = raw.Length > 0 ? raw : "no error details in the response";
        }

        return new EmbeddingServiceException(_provider, status, code is null ? null : Redact(code), Redact(message));
    }

    /// <summary>Removes every configured key or token from text that will reach a log or an exception.</summary>
    internal string Redact(string text)
    {
        foreach (string? secret in _secrets())
        {
            if (!string.IsNullOrEmpty(secret))
            {
                text = text.Replace(secret, "***", StringComparison.Ordinal);
            }
        }

        return text;
    }

    /// <summary>
    /// Both services answer errors as {"error":{...}}; the envelope is read here and the fields inside by the
    /// provider's <c>readError</c>. Nothing usable gives (null, null).
    /// </summary>
    private (string? Code, string? Message) ReadErrorBody(byte[] body)
    {
        if (body.Length == 0)
        {
            return (null, null);
        }

        using JsonDocument doc = JsonDocument.Parse(body);
        return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out JsonElement error)
            && error.ValueKind == JsonValueKind.Object
            ? _readError(error)
            : (null, null);
    }

    public void Dispose() => _inFlight.Dispose();
}

/// <summary>Runs one task per input with at most N at once and keeps results in input order.</summary>
internal static class OrderedParallel
{
    public static async Task<TOut[]> MapAsync<TIn, TOut>(
        IReadOnlyList<TIn> items,
        int maxConcurrency,
        Func<TIn, int, CancellationToken, Task<TOut>> body,
        CancellationToken cancellationToken)
    {
        var results = new TOut[items.Count];
        if (items.Count == 1)
        {
            results[0] = await body(items[0], 0, cancellationToken).ConfigureAwait(false);
            return results;
        }

        var options = new ParallelOptions { MaxDegreeOfParallelism = maxConcurrency, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count), options, async (i, token) =>
        {
            results[i] = await body(items[i], i, token).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return results;
    }
}

internal static partial class ProviderLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "{Provider} {Operation}: {Reason}; retrying in {DelayMs:0} ms (retry {Retry} of {MaxRetries})")]
    public static partial void Retrying(ILogger logger, string provider, string operation, string reason, double delayMs, int retry, int maxRetries);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
        Message = "{Provider}: input {Index} is about {EstimatedTokens} tokens (a word-piece estimate), above the model's {Limit}-token limit; the service will cut the rest")]
    public static partial void TextTooLong(ILogger logger, string provider, int index, int estimatedTokens, int limit);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "{Provider}: using {AuthKind} authentication")]
    public static partial void AuthKind(ILogger logger, string provider, string authKind);
}
