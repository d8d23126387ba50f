using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Omnivec.Server;

/// <summary>
/// The Omnivec HTTP API (and the web page at <c>/</c>) over one embedder and one folder of collections.
/// <see cref="Build"/> returns an unstarted <see cref="WebApplication"/>; the embedder stays owned by the caller.
/// </summary>
public static class OmnivecServer
{
    /// <summary>Builds the server; start it with <c>StartAsync</c>/<c>RunAsync</c>, stop and dispose it when done.</summary>
    public static WebApplication Build(IMultimodalEmbeddingGenerator embedder, OmnivecServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);

        string webRoot = options.WebRoot ?? Path.Combine(AppContext.BaseDirectory, "wwwroot");
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(OmnivecServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            WebRootPath = Directory.Exists(webRoot) ? webRoot : null,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.SetMinimumLevel(options.MinimumLogLevel);
        // One line per request stage is noise for a model server; failures are still logged (ours at Error).
        builder.Logging.AddFilter("Microsoft.AspNetCore", (LogLevel)Math.Max((int)options.MinimumLogLevel, (int)LogLevel.Warning));
        builder.WebHost.UseUrls([.. options.Urls]);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            // Slow clients (slowloris) cannot hold connections for free: headers, bodies and reads have deadlines.
            k.Limits.RequestHeadersTimeout = options.RequestHeadersTimeout;
            k.Limits.KeepAliveTimeout = options.KeepAliveTimeout;
            k.Limits.MinRequestBodyDataRate = new MinDataRate(options.MinRequestBodyBytesPerSecond, options.MinDataRateGracePeriod);
            k.Limits.MinResponseDataRate = new MinDataRate(options.MinResponseBytesPerSecond, options.MinDataRateGracePeriod);
            k.Limits.MaxConcurrentConnections = options.MaxConcurrentConnections;
            k.Limits.MaxConcurrentUpgradedConnections = options.MaxConcurrentConnections;
        });
        builder.Services.Configure<FormOptions>(f =>
        {
            f.MultipartBodyLengthLimit = options.MaxRequestBytes;
            f.ValueLengthLimit = (int)Math.Min(options.MaxRequestBytes, int.MaxValue);
            f.MultipartBoundaryLengthLimit = 70; // RFC 2046's limit; longer ones are refused as malformed (400)
        });
        builder.Services.ConfigureHttpJsonOptions(j =>
        {
            j.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            j.SerializerOptions.DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower;
        });
        // Graceful shutdown: Kestrel stops accepting, requests in flight (and the batches they wait for) get this long.
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        if (options.CorsOrigins.Count > 0)
        {
            builder.Services.AddCors(c => c.AddDefaultPolicy(p => p.WithOrigins([.. options.CorsOrigins]).AllowAnyHeader().AllowAnyMethod()));
        }

        ServerTelemetry.Configure(builder, options);

        var serverEmbedder = new ServerEmbedder(embedder, options);
        var fetcher = new ImageUrlFetcher(options);
        var collections = new CollectionRegistry(options);
        var thumbnails = new Thumbnails(options);
        byte[][] keyHashes = options.ApiKeys.Where(k => !string.IsNullOrEmpty(k)).Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray();
        var contentUrls = new ContentUrls(options, signed: keyHashes.Length > 0);
        // Owned by the application: disposed with it (the embedder itself is the caller's).
        // (Factory registrations: the container disposes what factories made, not instances handed to it.)
        builder.Services.AddSingleton(_ => serverEmbedder);
        builder.Services.AddSingleton(_ => fetcher);
        builder.Services.AddSingleton(_ => collections);
        builder.Services.AddSingleton(_ => thumbnails);
        McpEndpoint.AddServices(builder.Services, embedder, collections, options);
        builder.Services.AddSingleton(contentUrls);

        WebApplication app = builder.Build();
        // Resolve once so the container owns (and on shutdown disposes) them.
        _ = app.Services.GetRequiredService<ServerEmbedder>();
        _ = app.Services.GetRequiredService<ImageUrlFetcher>();
        _ = app.Services.GetRequiredService<CollectionRegistry>();
        _ = app.Services.GetRequiredService<Thumbnails>();
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Omnivec.Server");
        app.Lifetime.ApplicationStopping.Register(() => logger.LogInformation(
            "Shutting down: new connections are refused; requests in flight get up to {Timeout} to finish", options.ShutdownTimeout));
        app.Lifetime.ApplicationStopped.Register(() => logger.LogInformation("Stopped: requests finished, model runs drained, collections closed"));

        app.Use((context, next) => ProblemResponses.HandleAsync(context, next, options.MaxRequestBytes, logger));
        app.UseStatusCodePages(async status =>
        {
            HttpContext context = status.HttpContext;
            int code = context.Response.StatusCode;
            string detail = code switch
            {
                StatusCodes.Status404NotFound => $"No such resource: {context.Request.Method} {context.Request.Path}.",
                StatusCodes.Status405MethodNotAllowed => $"{context.Request.Method} is not allowed on {context.Request.Path}.",
                StatusCodes.Status415UnsupportedMediaType => "Unsupported content type.",
                _ => ProblemResponses.ReasonPhrase(code),
            };
            await ProblemResponses.WriteAsync(context, code, detail).ConfigureAwait(false);
        });
        if (options.CorsOrigins.Count > 0)
        {
            app.UseCors();
        }

        if (keyHashes.Length > 0)
        {
            app.Use((context, next) => Authorize(context, next, keyHashes, contentUrls));
        }

        if (app.Environment.WebRootFileProvider is not NullFileProvider)
        {
            app.UseDefaultFiles();
            app.UseStaticFiles();
        }

        var embeddings = new EmbeddingsEndpoint(serverEmbedder, fetcher, options);
        var search = new SearchEndpoints(serverEmbedder, collections, fetcher, contentUrls, options);
        var collectionRoutes = new CollectionEndpoints(serverEmbedder, collections, thumbnails, contentUrls, options, logger);

        app.MapOpenApi();
        if (options.MetricsEndpoint)
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }

        var health = new HealthEndpoints(embedder, serverEmbedder, collections, app.Lifetime);
        app.MapGet("/health", (Func<HttpContext, Task<IResult>>)health.LiveAsync)
            .WithName("Health").WithSummary("Liveness (200 while the process answers), the model served and how many collections exist (null when the store does not answer).")
            .Produces<HealthResponse>();
        app.MapGet("/health/ready", (Func<HttpContext, Task<IResult>>)health.ReadyAsync)
            .WithName("Ready").WithSummary("Readiness: 200 when the model is loaded, the store answers and the server is not stopping; else 503 with the reason.")
            .Produces<ReadinessResponse>().Produces<ReadinessResponse>(StatusCodes.Status503ServiceUnavailable);

        RouteGroupBuilder v1 = app.MapGroup("/v1");
        v1.MapPost("/embeddings", (Func<HttpContext, Task<IResult>>)embeddings.HandleAsync)
            .WithName("CreateEmbeddings").WithSummary("OpenAI-compatible embeddings of texts and images.")
            .Accepts<EmbeddingsRequest>("application/json").Produces<EmbeddingsResponse>().ProducesProblem(400).ProducesProblem(413);
        v1.MapPost("/search", (Func<HttpContext, Task<IResult>>)search.SearchAsync)
            .WithName("Search").WithSummary("Search a collection by text, image or item id (JSON, or multipart with an 'image' file).")
            .Accepts<SearchRequest>("application/json", "multipart/form-data").Produces<SearchResponse>().ProducesProblem(400).ProducesProblem(404);
        v1.MapPost("/classify", (Func<HttpContext, Task<IResult>>)search.ClassifyAsync)
            .WithName("Classify").WithSummary("Zero-shot classification of an image against labels.")
            .Accepts<ClassifyRequest>("application/json", "multipart/form-data").Produces<ClassifyResponse>().ProducesProblem(400);
        app.MapMcp("/mcp").WithName("Mcp").WithSummary("The MCP tools (search, similar, classify, list_collections) over streamable HTTP.").ExcludeFromDescription();
        v1.MapGet("/collections", collectionRoutes.List)
            .WithName("ListCollections").WithSummary("Every collection with its size and embedding space.").Produces<CollectionSummary[]>();
        v1.MapPost("/collections/{name}/items", collectionRoutes.UploadAsync)
            .WithName("UploadItems").WithSummary("Upload images, videos or recordings (multipart 'files'); each is stored, embedded and indexed. "
                + "With Accept: text/event-stream the answer is a stream of 'progress' events, then a 'result' (the 201 body) or an 'error' (a problem).")
            .Accepts<IFormFileCollection>("multipart/form-data").Produces<UploadResponse>(StatusCodes.Status201Created)
            .Produces<UploadProgressEvent>(StatusCodes.Status200OK, "text/event-stream").ProducesProblem(400).ProducesProblem(409).ProducesProblem(413)
            .DisableAntiforgery();
        v1.MapDelete("/collections/{name}/items/{id:long}", collectionRoutes.Delete)
            .WithName("DeleteItem").WithSummary("Remove an item from a collection.").Produces(StatusCodes.Status204NoContent).ProducesProblem(404);
        v1.MapGet("/collections/{name}/items/{id:long}/thumbnail", collectionRoutes.ThumbnailAsync)
            .WithName("ItemThumbnail").WithSummary("JPEG thumbnail of an item (?size=64, 128, 256 (default), 512 or 1024).")
            .Produces(200, contentType: "image/jpeg").ProducesProblem(400).ProducesProblem(404).ProducesProblem(503);
        v1.MapGet("/collections/{name}/items/{id:long}/content", collectionRoutes.Content)
            .WithName("ItemContent").WithSummary("The item's original file.").Produces(200).ProducesProblem(404);
        return app;
    }

    /// <summary>Builds and runs the server until <paramref name="cancellationToken"/> fires (or the process is asked to stop).</summary>
    public static async Task RunAsync(IMultimodalEmbeddingGenerator embedder, OmnivecServerOptions options, CancellationToken cancellationToken = default)
    {
        WebApplication app = Build(embedder, options);
        await using (app.ConfigureAwait(false))
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static async Task Authorize(HttpContext context, RequestDelegate next, byte[][] keyHashes, ContentUrls contentUrls)
    {
        // A signed content URL (handed out by search or upload to a client that sent a key) opens that one file for a
        // while: <video> and <audio> cannot send the Authorization header.
        if ((!context.Request.Path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase)
            && !context.Request.Path.StartsWithSegments("/mcp", StringComparison.OrdinalIgnoreCase)
            && !context.Request.Path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase))
            || contentUrls.Allows(context.Request))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        string header = context.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            // Hashing first makes every comparison the same length; FixedTimeEquals keeps timing from revealing a prefix.
            byte[] given = SHA256.HashData(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()));
            bool ok = false;
            foreach (byte[] key in keyHashes)
            {
                ok |= CryptographicOperations.FixedTimeEquals(given, key);
            }

            if (ok)
            {
                await next(context).ConfigureAwait(false);
                return;
            }
        }

        await ProblemResponses.WriteAsync(context, StatusCodes.Status401Unauthorized,
            header.Length > 0 ? "The API key is not valid."
            : context.Request.Query.ContainsKey("sig") ? "This content URL has expired or is not valid: search again for a fresh one, or send 'Authorization: Bearer <key>'."
            : "This server needs an API key: send 'Authorization: Bearer <key>'.").ConfigureAwait(false);
    }

    private static void Validate(OmnivecServerOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.StoreRoot);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DefaultCollection);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxRequestBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxItemsPerRequest);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxTextLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxImagePixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxImageUrlBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBatchSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchWindow, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ImageUrlTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxPixelsPerRequest);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxClassifyPrompts);
        ArgumentOutOfRangeException.ThrowIfNegative(options.PromptCacheEntries);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxCollections);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxOpenCollections);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.CollectionIdleTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.ThumbnailConcurrency);
        ArgumentOutOfRangeException.ThrowIfNegative(options.ThumbnailQueueLength);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RequestHeadersTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxConcurrentConnections);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ShutdownTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ContentUrlLifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.MaxMediaInputDuration, TimeSpan.Zero);
        if (options.Urls.Count == 0)
        {
            throw new ArgumentException("At least one URL to listen on is needed.", nameof(options));
        }
    }
}
