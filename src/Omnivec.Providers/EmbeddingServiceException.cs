using System.Net;

namespace Omnivec.Providers;

/// <summary>
/// The embedding service refused or failed a request (after any retries), or could not be reached.
/// Carries the HTTP status and the service's own error code and message; never any key or token.
/// </summary>
public sealed class EmbeddingServiceException : OmnivecException
{
    /// <summary>Creates the error for <paramref name="provider"/>'s answer (status and error code when there was an answer).</summary>
    public EmbeddingServiceException(string provider, HttpStatusCode? statusCode, string? errorCode, string serviceMessage, Exception? innerException = null)
        : base(Describe(provider, statusCode, errorCode, serviceMessage), innerException)
    {
        Provider = provider;
        StatusCode = statusCode;
        ErrorCode = errorCode;
        ServiceMessage = serviceMessage;
    }

    /// <summary>"google" or "azure".</summary>
    public string Provider { get; }

    /// <summary>The HTTP status of the last response; null when no response came (network failure, timeout).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The service's error code ("INVALID_ARGUMENT", "InvalidRequest", …) when the body carried one.</summary>
    public string? ErrorCode { get; }

    /// <summary>The service's error message, or a description of the transport failure.</summary>
    public string ServiceMessage { get; }

    /// <summary>The service answered 200 with a body that is not what its API promises (no vector, the wrong size, another model version).</summary>
    internal static EmbeddingServiceException MalformedResponse(string provider, string what) =>
        new(provider, HttpStatusCode.OK, "MalformedResponse", what);

    private static string Describe(string provider, HttpStatusCode? status, string? code, string message)
    {
        string head = status is { } s
            ? $"{provider} embedding service returned HTTP {(int)s} ({s})"
            : $"{provider} embedding service could not be reached";
        return code is null ? $"{head}: {message}" : $"{head}: {code}: {message}";
    }
}
