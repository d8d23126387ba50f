using Omnivec.Index;

namespace Omnivec.Server;

/// <summary>Settings of <see cref="OmnivecServer"/>. Defaults are safe for a server on the open network: no keys means no auth, so set some there.</summary>
public sealed class OmnivecServerOptions
{
    /// <summary>Where collections live: a folder (<see cref="CollectionStore.DefaultRoot"/> by default) or a PostgreSQL connection URI (postgresql://…).</summary>
    public string StoreRoot { get; set; } = CollectionStore.DefaultRoot;

    /// <summary>Folder for files uploaded through the API, one sub-folder per collection; the store folder when null (for a PostgreSQL store, uploads/ beside the default collections folder: point replicas at shared storage).</summary>
    public string? UploadsRoot { get; set; }

    /// <summary>Collection used when a request names none.</summary>
    public string DefaultCollection { get; set; } = "default";

    /// <summary>Addresses to listen on; port 0 picks a free port (read it back from the server's addresses).</summary>
    public IList<string> Urls { get; } = ["http://127.0.0.1:8080"];

    /// <summary>When not empty, every <c>/v1/*</c> request needs <c>Authorization: Bearer &lt;one of these&gt;</c>.</summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>Origins allowed by CORS; none (CORS off) by default.</summary>
    public IList<string> CorsOrigins { get; } = [];

    /// <summary>Largest request body, in bytes (Kestrel and multipart limit).</summary>
    public long MaxRequestBytes { get; set; } = 32L << 20;

    /// <summary>Most inputs in one embeddings request, or files in one upload.</summary>
    public int MaxItemsPerRequest { get; set; } = 256;

    /// <summary>Longest text input, in characters.</summary>
    public int MaxTextLength { get; set; } = 4096;

    /// <summary>Largest image accepted, in pixels (width × height, read from the header before decoding).</summary>
    public long MaxImagePixels { get; set; } = 40_000_000;

    /// <summary>Whether <c>{"image":"https://…"}</c> inputs are fetched. Off by default: fetching URLs for strangers is a risk.</summary>
    public bool AllowImageUrls { get; set; }

    /// <summary>Hosts image URLs may point at: <c>images.example.com</c>, or <c>*.example.com</c> for any subdomain. Empty allows none.</summary>
    public IList<string> ImageUrlAllowList { get; } = [];

    /// <summary>Largest image downloaded from a URL, in bytes.</summary>
    public long MaxImageUrlBytes { get; set; } = 16L << 20;

    /// <summary>Time allowed for fetching one image URL, redirects included.</summary>
    public TimeSpan ImageUrlTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most inputs merged into one model run by dynamic batching; 1 turns batching off.</summary>
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>How long the batcher waits for more requests after the first arrives.</summary>
    public TimeSpan BatchWindow { get; set; } = TimeSpan.FromMilliseconds(4);

    /// <summary>Thumbnails kept in memory.</summary>
    public int ThumbnailCacheEntries { get; set; } = 512;

    /// <summary>Folder of the static web page; default: <c>wwwroot</c> beside the server assembly.</summary>
    public string? WebRoot { get; set; }

    /// <summary>Called once for each collection the server creates (the CLI records there which model filled it).</summary>
    public Action<IVectorCollection>? CollectionCreated { get; set; }

    /// <summary>Lowest level logged by the host (Information by default; tests and benchmarks use Warning).</summary>
    public Microsoft.Extensions.Logging.LogLevel MinimumLogLevel { get; set; } = Microsoft.Extensions.Logging.LogLevel.Information;
}
