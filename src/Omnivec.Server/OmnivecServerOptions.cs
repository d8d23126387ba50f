using Omnivec.Index;

namespace Omnivec.Server;

/// <summary>Settings of <see cref="OmnivecServer"/>. Defaults are safe for a server on the open network: no keys means no auth, so set some there.</summary>
public sealed class OmnivecServerOptions
{
    /// <summary>Where collections live: a folder (<see cref="CollectionStore.DefaultRoot"/> by default) or a PostgreSQL connection URI (postgresql://…).</summary>
    public string StoreRoot { get; set; } = CollectionStore.DefaultRoot;

    /// <summary>Settings of a PostgreSQL store (retries on transient failures, pool size, vector type, HNSW); unused for a folder.</summary>
    public Omnivec.Index.Postgres.PostgresStoreOptions Postgres { get; set; } = new();

    /// <summary>Folder for files uploaded through the API, one sub-folder per collection; the store folder when null (for a PostgreSQL store, uploads/ beside the default collections folder: point replicas at shared storage).</summary>
    public string? UploadsRoot { get; set; }

    /// <summary>Collection used when a request names none.</summary>
    public string DefaultCollection { get; set; } = "default";

    /// <summary>Addresses to listen on; port 0 picks a free port (read it back from the server's addresses).</summary>
    public IList<string> Urls { get; } = ["http://127.0.0.1:8080"];

    /// <summary>When not empty, every <c>/v1/*</c> request needs <c>Authorization: Bearer &lt;one of these&gt;</c>.</summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>
    /// With API keys, how long a signed <c>content_url</c> (returned by search and upload, so players can fetch media
    /// without the Authorization header) stays valid: one hour by default.
    /// </summary>
    public TimeSpan ContentUrlLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The secret content URLs are signed with. Null (the default): a random one per server start, so URLs die with
    /// the process; replicas behind one load balancer set the same value so each accepts the others' URLs.
    /// </summary>
    public string? ContentUrlSecret { get; set; }

    /// <summary>Origins allowed by CORS; none (CORS off) by default.</summary>
    public IList<string> CorsOrigins { get; } = [];

    /// <summary>Largest request body, in bytes (Kestrel and multipart limit).</summary>
    public long MaxRequestBytes { get; set; } = 32L << 20;

    /// <summary>
    /// Largest upload request when it carries videos, in bytes: the upload route alone accepts bodies up to this size;
    /// video files are streamed to disk, never held in memory, while every image in it is still held to <see cref="MaxRequestBytes"/>.
    /// </summary>
    public long MaxVideoUploadBytes { get; set; } = 1L << 30;

    /// <summary>
    /// Longest audio or video input of <c>/v1/embeddings</c>, or audio search query (each second costs model time):
    /// 10 minutes by default. Uploaded recordings and videos are held to <see cref="Omnivec.Media.FfmpegOptions.MaxDuration"/> instead.
    /// </summary>
    public TimeSpan MaxMediaInputDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How uploaded videos are cut into segments (scene threshold, longest segment, frames per segment).</summary>
    public Omnivec.Media.VideoSegmenterOptions Video { get; set; } = new();

    /// <summary>Where FFmpeg is and how long it may stall, for uploaded videos and their thumbnails.</summary>
    public Omnivec.Media.FfmpegOptions Ffmpeg { get; set; } = new();

    /// <summary>
    /// For an upload answered as server-sent events (<c>Accept: text/event-stream</c>): the shortest time between two
    /// <c>progress</c> events (250 ms by default; an event is also sent every second while nothing moves).
    /// </summary>
    public TimeSpan UploadProgressInterval { get; set; } = TimeSpan.FromMilliseconds(250);

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

    /// <summary>Most pixels (width × height, summed over every image) one request may make the server decode: bounds the CPU a small, well-compressed request can cost.</summary>
    public long MaxPixelsPerRequest { get; set; } = 200_000_000;

    /// <summary>Most text prompts (labels × templates) one classify request may need embedded; cached labels count too.</summary>
    public int MaxClassifyPrompts { get; set; } = 2048;

    /// <summary>Text embeddings of classify prompts kept in memory, so a label set asked for again costs no model run.</summary>
    public int PromptCacheEntries { get; set; } = 20_000;

    /// <summary>Most collections in the store: an upload to a new name beyond it is refused (409).</summary>
    public int MaxCollections { get; set; } = 100;

    /// <summary>Whether an upload to a name with no collection creates one (within <see cref="MaxCollections"/>); off means only collections made by the CLI are served.</summary>
    public bool CreateCollectionsOnUpload { get; set; } = true;

    /// <summary>Most collections held open at once (each holds a few file descriptors); the least recently used idle ones are closed beyond it.</summary>
    public int MaxOpenCollections { get; set; } = 16;

    /// <summary>A collection no request has used for this long is closed (reopened on the next request).</summary>
    public TimeSpan CollectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Thumbnails rendered at the same time; each holds at most one decoded image.</summary>
    public int ThumbnailConcurrency { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Thumbnail requests waiting for a render slot; beyond it the server answers 503 with Retry-After.</summary>
    public int ThumbnailQueueLength { get; set; } = 32;

    /// <summary>Whether results show the full path of files indexed from outside the collection's folder; off shows only their file name (uploads always show <c>uploads/…</c>).</summary>
    public bool ExposeFilePaths { get; set; }

    /// <summary>Time a client has to send the request line and headers (Kestrel's RequestHeadersTimeout).</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Slowest request body accepted, in bytes per second after <see cref="MinDataRateGracePeriod"/> (Kestrel's MinRequestBodyDataRate); slower clients are cut off.</summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 1024;

    /// <summary>Slowest response reading accepted, in bytes per second after <see cref="MinDataRateGracePeriod"/>.</summary>
    public double MinResponseBytesPerSecond { get; set; } = 1024;

    /// <summary>Time before the minimum data rates apply.</summary>
    public TimeSpan MinDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time an idle keep-alive connection stays open.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Most connections open at once; further clients wait in the listen queue.</summary>
    public long MaxConcurrentConnections { get; set; } = 1000;

    /// <summary>
    /// Whether <c>/metrics</c> serves the Omnivec, ASP.NET Core and Kestrel metrics in Prometheus' text format (off by default).
    /// When <see cref="ApiKeys"/> are set, scraping needs one of them like <c>/v1/*</c> does.
    /// </summary>
    public bool MetricsEndpoint { get; set; }

    /// <summary>
    /// How long a graceful shutdown (SIGTERM, Ctrl+C, <c>StopAsync</c>) waits for requests in flight, and the model runs
    /// they wait for, before cutting them off. New connections are refused from the start of the shutdown.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Folder of the static web page; default: <c>wwwroot</c> beside the server assembly.</summary>
    public string? WebRoot { get; set; }

    /// <summary>Called once for each collection the server creates (the CLI records there which model filled it).</summary>
    public Action<IVectorCollection>? CollectionCreated { get; set; }

    /// <summary>Lowest level logged by the host (Information by default; tests and benchmarks use Warning).</summary>
    public Microsoft.Extensions.Logging.LogLevel MinimumLogLevel { get; set; } = Microsoft.Extensions.Logging.LogLevel.Information;
}
