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
        CollectionCorruptException corrupt => (StatusCodes.Status500InternalServerError, corrupt.Message),
        InvalidInputException invalid => (StatusCodes.Status400BadRequest, invalid.Message),
        OmnivecException other => (StatusCodes.Status400BadRequest, other.Message),
        _ => (StatusCodes.Status500InternalServerError, "The server failed to handle the request; the error is in its log."),
    };

    public static Task WriteAsync(HttpContext context, int status, string detail)
    {
        context.Response.Clear();
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
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
        return context.Response.WriteAsJsonAsync(problem, (JsonSerializerOptions?)null, "application/problem+json", context.RequestAborted);
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
            (int status, string detail) = Classify(error, maxRequestBytes);
            if (status >= 500)
            {
                logger.LogError(error, "Request {Method} {Path} failed", context.Request.Method, context.Request.Path);
            }

            if (context.Response.HasStarted)
            {
                throw;
            }

            await WriteAsync(context, status, detail).ConfigureAwait(false);
        }
    }
}
