using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace Omnivec.Server;

/// <summary>
/// <c>/health</c> is liveness: the process answers (200 whatever the store does, so an orchestrator does not restart a
/// healthy server because its database is down). <c>/health/ready</c> is readiness: 200 only while the model is loaded,
/// the store answers and the server is not shutting down; else 503 with the reason, so a load balancer sends traffic
/// elsewhere.
/// </summary>
internal sealed class HealthEndpoints(IMultimodalEmbeddingGenerator embedder, ServerEmbedder serverEmbedder, CollectionRegistry collections, IHostApplicationLifetime lifetime)
{
    /// <summary>Longest a probe waits for the store.</summary>
    internal static readonly TimeSpan StoreProbeTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Retry-After of a not-ready answer.</summary>
    private const int RetryAfterSeconds = 5;

    public async Task<IResult> LiveAsync(HttpContext context)
    {
        int? count = null;
        if (await collections.ProbeStoreAsync(StoreProbeTimeout, context.RequestAborted).ConfigureAwait(false) is null)
        {
            try
            {
                count = collections.CountCollections();
            }
            catch (OmnivecException)
            {
                // Gone between the probe and the count: still alive.
            }
        }

        return TypedResults.Ok(new HealthResponse("ok", embedder.Space.ModelId, embedder.Space.Dimensions, count));
    }

    public async Task<IResult> ReadyAsync(HttpContext context)
    {
        ReadinessCheck model = serverEmbedder.IsDisposed
            ? new ReadinessCheck("unavailable", "The model has been released (the server is stopping).")
            : new ReadinessCheck("ok", $"{embedder.Space.ModelId} ({embedder.Space.Dimensions}-d) is loaded.");
        string? storeProblem = await collections.ProbeStoreAsync(StoreProbeTimeout, context.RequestAborted).ConfigureAwait(false);
        ReadinessCheck store = storeProblem is null
            ? new ReadinessCheck("ok", "The store answers.")
            : new ReadinessCheck("unavailable", storeProblem);
        ReadinessCheck server = lifetime.ApplicationStopping.IsCancellationRequested
            ? new ReadinessCheck("stopping", "The server is shutting down: it finishes the requests it has and takes no new ones.")
            : new ReadinessCheck("ok", "Serving.");
        string? reason = new[] { server, model, store }.FirstOrDefault(c => c.Status != "ok")?.Detail;
        if (reason is null)
        {
            return TypedResults.Ok(new ReadinessResponse("ready", null, model, store, server));
        }

        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Json(new ReadinessResponse("not_ready", reason, model, store, server), statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
