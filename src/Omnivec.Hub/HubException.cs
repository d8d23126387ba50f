namespace Omnivec.Hub;

/// <summary>Why talking to the Hub or its cache failed.</summary>
public enum HubErrorKind
{
    /// <summary>Offline mode is on (HF_HUB_OFFLINE) and the model is not in the cache.</summary>
    Offline,
    /// <summary>The Hub could not be reached (DNS, refused connection, TLS, timeout).</summary>
    Network,
    /// <summary>The repository, revision or file does not exist (or is private and no token was sent).</summary>
    NotFound,
    /// <summary>401/403: a token is needed, or access to a gated repository must be requested.</summary>
    Unauthorized,
    /// <summary>The Hub kept answering 429 after every retry.</summary>
    RateLimited,
    /// <summary>The Hub kept answering 5xx after every retry.</summary>
    ServerError,
    /// <summary>A downloaded file does not match its hash or announced size.</summary>
    Integrity,
    /// <summary>The disk holding the cache is full.</summary>
    DiskFull,
    /// <summary>The cache folder cannot be written (permissions, read-only file system, other I/O errors).</summary>
    CacheAccess,
    /// <summary>The Hub's answer lacked what the protocol promises (commit, ETag, file list).</summary>
    InvalidResponse,
    /// <summary>Another process held a file's download lock for longer than the configured wait.</summary>
    LockTimeout,
    /// <summary>The model exists but is not a CLIP layout Omnivec can load, or lacks the requested variant.</summary>
    UnsupportedModel,
}

/// <summary>A Hub download or cache operation failed; <see cref="Kind"/> says why and the message says what to do.</summary>
public sealed class HubException : OmnivecException
{
    /// <summary>Creates the error of the given kind.</summary>
    public HubException(HubErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>Why the operation failed.</summary>
    public HubErrorKind Kind { get; }

    /// <summary>HTTP status of the failing answer, when there was one.</summary>
    public int? StatusCode { get; init; }
}
