using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Omnivec.Http;

namespace Omnivec.Providers;

/// <summary>
/// Sends one logical request with per-attempt timeouts, the shared <see cref="RetryPolicy"/> (408/429/5xx, network
/// failures and timeouts; exponential backoff with bounded jitter, honouring Retry-After), a generator-wide cap on
/// requests in flight, and typed errors.
/// </summary>
internal sealed class ServiceRequestSender : IDisposable
{
    private readonly RetryPolicy _retry;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly string _provider;
    private readonly Func<JsonElement, (string? Code, string? Message)> _readError;
    private readonly Func<IEnumerable<string?>> _secrets;
    private readonly Func<HttpClient> _http;
    private readonly HttpClient? _ownedClient;
    private readonly SemaphoreSlim _inFlight;
    private int _disposed;

    /// <summary>
    /// Sends through the client from <paramref name="clientFactory"/> (DI's IHttpClientFactory) when given, else through
    /// <paramref name="httpClient"/>, else through a client of its own that it disposes. The per-attempt timeout is ours,
    /// so its own client has none that could cut retries short.
    /// </summary>
    public ServiceRequestSender(
        HttpClient? httpClient,
        Func<HttpClient>? clientFactory,
        EmbeddingServiceOptions options,
        ILogger logger,
        string provider,
        Func<JsonElement, (string? Code, string? Message)> readError,
        Func<IEnumerable<string?>> secrets,
        RetryPolicy? retry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (clientFactory is not null)
        {
            _http = clientFactory;
        }
        else
        {
            HttpClient client = httpClient ?? (_ownedClient = new HttpClient { Timeout = Timeout.InfiniteTimeSpan });
            _http = () => client;
        }

        _retry = retry ?? new RetryPolicy(new RetrySettings(options.MaxRetries, options.RetryBaseDelay, options.MaxRetryDelay));
        _timeout = options.Timeout;
        _logger = logger;
        _provider = provider;
        _readError = readError;
        _secrets = secrets;
        _inFlight = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
    }

    /// <summary>The retry policy in use (shared with the Hub's downloads).</summary>
    internal RetryPolicy Retry => _retry;

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
        int attempts = 0;
        try
        {
            return await _retry.ExecuteAsync(
                ct =>
                {
                    attempts++;
                    return AttemptAsync(createRequest, parse, operation, ct);
                },
                r => ProviderLog.Retrying(_logger, _provider, operation, r.Failure.Message, r.Delay.TotalMilliseconds, r.Retry, r.MaxRetries),
                cancellationToken).ConfigureAwait(false);
        }
        catch (TransientFailureException e)
        {
            // Retries ran out: the last failure becomes the typed error.
            throw e.InnerException as EmbeddingServiceException
                ?? (e.InnerException is OperationCanceledException
                    ? new EmbeddingServiceException(_provider, null, "Timeout",
                        string.Create(CultureInfo.InvariantCulture, $"{operation}: no response within {_timeout.TotalSeconds:0.###} s (attempt {attempts} of {_retry.Settings.MaxRetries + 1})"), e.InnerException)
                    : new EmbeddingServiceException(_provider, null, "NetworkError", Redact($"{operation}: {e.InnerException?.Message ?? e.Message}"), e.InnerException));
        }
    }

    /// <summary>One attempt: a retryable outcome is thrown as <see cref="TransientFailureException"/> for the policy.</summary>
    private async ValueTask<T> AttemptAsync<T>(
        Func<CancellationToken, Task<HttpRequestMessage>> createRequest,
        Func<ReadOnlyMemory<byte>, T> parse,
        string operation,
        CancellationToken cancellationToken)
    {
        await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptCts.CancelAfter(_timeout);
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
                if (!RetryPolicy.IsRetryable(response.StatusCode))
                {
                    throw error;
                }

                throw new TransientFailureException(
                    string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode}"),
                    response.StatusCode, RetryPolicy.ReadRetryAfter(response), error);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException ex)
            {
                // Only the per-attempt timer can have fired here.
                throw new TransientFailureException("timeout", ex);
            }
            catch (HttpRequestException ex)
            {
                throw new TransientFailureException("network error", ex);
            }
        }
        finally
        {
            _inFlight.Release();
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

    /// <summary>Throws <see cref="ObjectDisposedException"/> naming <paramref name="owner"/> once the sender is disposed.</summary>
    public void ThrowIfDisposed(object owner) => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, owner);

    /// <summary>Disposes the sender and the client it created; a second call does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _inFlight.Dispose();
        _ownedClient?.Dispose();
    }
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
