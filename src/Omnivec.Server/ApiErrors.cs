using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Omnivec.Index;

namespace Omnivec.Server;

/// <summary>A request the API refuses, with the HTTP status and a message for the caller.</summary>
internal sealed class ApiException : Exception
{
    public ApiException(int status, string detail, Exception? innerException = null) : base(detail, innerException) => Status = status;

    public int Status { get; }

    /// <summary>Seconds the client should wait before trying again (sent as Retry-After), for 503s.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiException Unavailable(string detail, int retryAfterSeconds) =>
        new(StatusCodes.Status503ServiceUnavailable, detail) { RetryAfterSeconds = retryAfterSeconds };

    /// <summary>A piece of the caller's input for an error message: at most <paramref name="max"/> characters, so a huge bad value is not echoed back.</summary>
    public static string Quote(string? value, int max = 80) =>
        value is null ? "null" : value.Length <= max ? value : string.Concat(value.AsSpan(0, max), $"… ({value.Length:N0} characters)");

    public static ApiException BadRequest(string detail) => new(StatusCodes.Status400BadRequest, detail);

    public static ApiException NotFound(string detail) => new(StatusCodes.Status404NotFound, detail);

    public static ApiException TooLarge(string detail) => new(StatusCodes.Status413PayloadTooLarge, detail);
}

/// <summary>Turns every failure into <c>application/problem+json</c>: bad input is a 4xx with its reason, never a 500.</summary>
internal static class ProblemResponses
{
    public static (int Status, string Detail) Classify(Exception error, long maxRequestBytes) => error switch
    {
        ApiException api => (api.Status, api.Message),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
            (StatusCodes.Status413PayloadTooLarge, $"The request body is larger than the limit of {maxRequestBytes:N0} bytes."),
        BadHttpRequestException bad => (bad.StatusCode, "The request could not be read: " + bad.Message),
        InvalidDataException invalid => (StatusCodes.Status400BadRequest, "The multipart form could not be read: " + invalid.Message),
        JsonException json => (StatusCodes.Status400BadRequest, "The body is not valid JSON: " + json.Message),
        ImageTooLargeException tooLarge => (StatusCodes.Status413PayloadTooLarge, tooLarge.Message),
        ImageDecodeException { Kind: ImageErrorKind.TooLarge } decode => (StatusCodes.Status413PayloadTooLarge, decode.Message),
        EmbeddingSpaceMismatchException mismatch => (StatusCodes.Status409Conflict, mismatch.Message),
        CollectionNotFoundException notFound => (StatusCodes.Status404NotFound, notFound.Message),
        CollectionBusyException busy => (StatusCodes.Status409Conflict, busy.Message),
        InvalidInputException invalid => (StatusCodes.Status400BadRequest, invalid.Message),
        // Everything else is the server's own fault (a broken model, a store it cannot read or write, a model hub or
        // provider that failed): a 5xx, with the details in the log rather than in the answer.
        ModelConfigurationException => (StatusCodes.Status500InternalServerError, "The server's model failed; the error is in its log."),
        CollectionCorruptException => (StatusCodes.Status500InternalServerError, "The collection's files are damaged; the error is in the server's log."),
        // The database is down or unreachable (its retries gave up): the server is fine, try again shortly (503 + Retry-After).
        Omnivec.Index.Postgres.PostgresStoreException => (StatusCodes.Status503ServiceUnavailable,
            "The store (PostgreSQL) is not reachable right now; try again shortly. The error is in the server's log."),
        OmnivecException => (StatusCodes.Status502BadGateway, "A service the server depends on failed; the error is in its log."),
        IOException or UnauthorizedAccessException => (StatusCodes.Status500InternalServerError, "The server could not read or write its store; the error is in its log."),
        _ => (StatusCodes.Status500InternalServerError, "The server failed to handle the request; the error is in its log."),
    };

    /// <summary>Retry-After, in seconds, sent with the 503 of an unreachable store.</summary>
    public const int StoreRetryAfterSeconds = 5;

    /// <summary>The Retry-After for an error: an <see cref="ApiException"/>'s own, or the store's for an unreachable database.</summary>
    public static int? RetryAfter(Exception error) => error switch
    {
        ApiException api => api.RetryAfterSeconds,
        Omnivec.Index.Postgres.PostgresStoreException => StoreRetryAfterSeconds,
        _ => null,
    };

    /// <summary>Longest detail sent back; longer ones (which can only come from echoed input) are cut.</summary>
    public const int MaxDetailLength = 600;

    public static Task WriteAsync(HttpContext context, int status, string detail, int? retryAfterSeconds = null)
    {
        // Clear() drops the headers too; Allow (set by routing on a 405) belongs in the answer.
        string allow = context.Response.Headers.Allow.ToString();
        context.Response.Clear();
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status405MethodNotAllowed && allow.Length > 0)
        {
            context.Response.Headers.Allow = allow;
        }

        if (retryAfterSeconds is int seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return context.Response.WriteAsJsonAsync(Create(status, detail), (JsonSerializerOptions?)null, "application/problem+json", context.RequestAborted);
    }

    /// <summary>The problem document for a status and its reason (cut to <see cref="MaxDetailLength"/>).</summary>
    public static ProblemDetails Create(int status, string detail)
    {
        if (detail.Length > MaxDetailLength)
        {
            detail = string.Concat(detail.AsSpan(0, MaxDetailLength), "…");
        }

        var problem = new ProblemDetails
        {
            Status = status,
            Title = ReasonPhrase(status),
            Detail = detail,
            Type = "https://httpstatuses.io/" + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        // OpenAI SDKs read error.message; carrying it too lets them show the reason instead of a bare status.
        problem.Extensions["error"] = new Dictionary<string, object?>
        {
            ["message"] = detail,
            ["type"] = status switch { 401 => "authentication_error", >= 500 => "server_error", _ => "invalid_request_error" },
            ["code"] = null,
        };
        return problem;
    }

    public static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";

    /// <summary>Middleware: catches what the endpoints throw and answers with a problem document.</summary>
    public static async Task HandleAsync(HttpContext context, RequestDelegate next, long maxRequestBytes, ILogger logger)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
#pragma warning disable CA1031 // the last line of defence: every error becomes a problem response
        catch (Exception error)
#pragma warning restore CA1031
        {
            // The upload route raises its own body limit for videos: report the limit this request had.
            long limit = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize ?? maxRequestBytes;
            (int status, string detail) = Classify(error, limit);
            if (status >= 500)
            {
                logger.LogError(error, "Request {Method} {Path} failed", context.Request.Method, context.Request.Path);
            }

            if (context.Response.HasStarted)
            {
                throw;
            }

            await WriteAsync(context, status, detail, RetryAfter(error)).ConfigureAwait(false);
        }
    }
}
