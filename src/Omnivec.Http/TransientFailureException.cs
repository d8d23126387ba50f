using System.Net;

namespace Omnivec.Http;

/// <summary>
/// A failure worth another attempt: HTTP 408, 429 or 5xx, a dropped connection or an attempt that timed out.
/// Thrown inside an attempt run by <see cref="RetryPolicy.ExecuteAsync{T}"/>; rethrown as is when the retries run out,
/// for the caller to turn into its own typed error.
/// </summary>
public class TransientFailureException : Exception
{
    /// <summary>A transient failure with the status that caused it (null for network failures and timeouts) and the server's Retry-After.</summary>
    public TransientFailureException(string message, HttpStatusCode? statusCode = null, TimeSpan? retryAfter = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        RetryAfter = retryAfter;
    }

    /// <summary>A transient failure without a status.</summary>
    public TransientFailureException()
        : this("transient failure")
    {
    }

    /// <summary>A transient failure without a status.</summary>
    public TransientFailureException(string message)
        : this(message, null, null, null)
    {
    }

    /// <summary>A transient failure without a status, caused by <paramref name="innerException"/>.</summary>
    public TransientFailureException(string message, Exception innerException)
        : this(message, null, null, innerException)
    {
    }

    /// <summary>The HTTP status of the failed attempt; null when no response came.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>How long the server asked to wait (Retry-After), when it said.</summary>
    public TimeSpan? RetryAfter { get; }
}
