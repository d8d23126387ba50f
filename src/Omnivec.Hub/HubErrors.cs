using System.Net;
using Omnivec.Http;

namespace Omnivec.Hub;

/// <summary>
/// A failure worth another attempt (429, 5xx, dropped connection, timeout, a resume gone wrong) for the shared
/// <see cref="RetryPolicy"/>; turned into a <see cref="HubException"/> when retries run out.
/// </summary>
internal sealed class RetryableHubException(HubErrorKind kind, string detail, int? statusCode = null, TimeSpan? retryAfter = null, Exception? inner = null)
    : TransientFailureException(detail, (HttpStatusCode?)statusCode, retryAfter, inner)
{
    public HubErrorKind Kind { get; } = kind;

    public int? Status => (int?)StatusCode;
}

internal static class HubErrors
{
    /// <summary>ENOSPC/EDQUOT on Unix (HResult is the errno there); ERROR_DISK_FULL/ERROR_HANDLE_DISK_FULL on Windows.</summary>
    public static bool IsDiskFull(Exception e)
    {
        if (e is not IOException io)
        {
            return false;
        }

        int hr = io.HResult;
        return OperatingSystem.IsWindows()
            ? (hr & 0xFFFF) is 112 or 39
            : hr is 28 or 122 || (OperatingSystem.IsMacOS() && hr == 69);
    }

    public static HubException DiskFull(string cacheDirectory, string what, IOException e) =>
        new(HubErrorKind.DiskFull,
            $"No space left on the disk that holds the Hugging Face cache ({cacheDirectory}) while writing {what}. " +
            "Free some space (partial downloads resume), or move the cache with HF_HUB_CACHE or HF_HOME.", e);

    public static HubException Final(RetryableHubException e, HubOptions options, string what, int attempts) => e.Kind switch
    {
        HubErrorKind.RateLimited => new HubException(HubErrorKind.RateLimited,
            $"The Hub at {options.Endpoint} kept rate-limiting the download of {what} (HTTP 429, {attempts} attempts). " +
            "Wait a few minutes and try again; requests with a token (HF_TOKEN) get higher limits.", e) { StatusCode = e.Status },
        HubErrorKind.ServerError => new HubException(HubErrorKind.ServerError,
            $"The Hub at {options.Endpoint} failed while serving {what} (HTTP {e.Status}, {attempts} attempts): {e.Message}. " +
            "Try again later, or point --model at a local model folder.", e) { StatusCode = e.Status },
        _ => new HubException(HubErrorKind.Network,
            $"Could not download {what} from {options.Endpoint} ({e.Message}; {attempts} attempts). " +
            "Check the network connection, or HF_ENDPOINT if you use a mirror. To run without the network, set HF_HUB_OFFLINE=1 " +
            "and use a model that is already cached, or point --model at a local model folder.", e),
    };

    public static bool IsRedirect(HttpStatusCode status) => (int)status is >= 300 and < 400 && status != HttpStatusCode.NotModified;

    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? contentValues.FirstOrDefault()
        : null;
}
