using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Server;
using Omnivec.Index;
using Omnivec.Mcp;

namespace Omnivec.Server;

/// <summary>
/// <c>/mcp</c>: the MCP tools of <see cref="OmnivecMcp"/> over streamable HTTP, on the server's collections and model.
/// Stateless (each request stands alone, no session to keep), behind the same API key as <c>/v1</c>. A remote caller
/// cannot name files on the server's disk: images come as base64, items by id.
/// </summary>
internal static class McpEndpoint
{
    public static void AddServices(IServiceCollection services, IMultimodalEmbeddingGenerator embedder, CollectionRegistry collections, OmnivecServerOptions options)
    {
        var host = new ServerMcpHost(embedder, collections, options);
        IReadOnlyList<McpServerTool>? tools = null;
        var gate = new Lock();
        IReadOnlyList<McpServerTool> Tools(IServiceProvider services)
        {
            lock (gate)
            {
                return tools ??= OmnivecMcp.CreateTools(host, services.GetRequiredService<ILoggerFactory>());
            }
        }

        services.AddMcpServer(o =>
        {
            o.ServerInfo = OmnivecMcp.ServerInfo;
            o.ServerInstructions = OmnivecMcp.Instructions;
        }).WithHttpTransport(o => o.Stateless = true);
        for (int i = 0; i < OmnivecMcp.ToolNames.Count; i++)
        {
            int index = i;
            services.AddSingleton(s => Tools(s)[index]);
        }
    }

    private sealed class ServerMcpHost(IMultimodalEmbeddingGenerator embedder, CollectionRegistry collections, OmnivecServerOptions options) : IMcpCollectionHost
    {
        public string DefaultCollection => options.DefaultCollection;

        public bool CanReadLocalFiles => false;

        public IReadOnlyList<CollectionInfo> ListCollections() => collections.Store.List();

        public McpCollectionLease OpenCollection(string name)
        {
            CollectionRegistry.CollectionLease lease;
            try
            {
                lease = collections.Open(name);
            }
            catch (ApiException e) when (e.Status == Microsoft.AspNetCore.Http.StatusCodes.Status404NotFound)
            {
                throw new CollectionNotFoundException(e.Message);
            }

            return new McpCollectionLease(lease.Collection, lease);
        }

        public Task<IMultimodalEmbeddingGenerator> GetEmbedderAsync(IVectorCollection? collection, CancellationToken cancellationToken) => Task.FromResult(embedder);

        public string DisplayPath(string collection, string path) => collections.PublicPath(collection, path);
    }
}
