using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Omnivec.Mcp;

/// <summary>
/// Omnivec as a Model Context Protocol server: the tools <c>search</c> (query algebra, relevance cutoff, order),
/// <c>similar</c>, <c>classify</c> and <c>list_collections</c>, with JSON schemas for their arguments and results.
/// <see cref="RunStdioAsync"/> serves them over stdin/stdout (<c>omnivec mcp</c>); the server maps the same tools at
/// <c>/mcp</c> (streamable HTTP) with <see cref="CreateTools"/>.
/// </summary>
public static class OmnivecMcp
{
    /// <summary>What the server tells an assistant about itself when it connects.</summary>
    public static string Instructions { get; } =
        "Omnivec searches a person's photos and videos by meaning. Use search with words (query), an example image or an indexed item; " +
        "add or subtract terms with plus/minus (\"minus\": [\"people\"]). Results that do not stand out are cut: no_match=true means nothing fits; " +
        "all=true shows the nearest anyway. Use an item's id from the results with similar, classify, or as \"item:ID\" in plus/minus. " +
        "list_collections names the collections.";

    /// <summary>The names of the tools <see cref="CreateTools"/> returns, in its order.</summary>
    public static IReadOnlyList<string> ToolNames { get; } = ["search", "similar", "classify", "list_collections"];

    /// <summary>The tools, over the collections of <paramref name="host"/>.</summary>
    public static IReadOnlyList<McpServerTool> CreateTools(IMcpCollectionHost host, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Omnivec.Mcp");
        return new McpTools(host, logger).Create();
    }

    /// <summary>The name and version the server reports to clients.</summary>
    public static Implementation ServerInfo => new()
    {
        Name = "omnivec",
        Title = "Omnivec",
        Version = typeof(OmnivecMcp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0",
    };

    /// <summary>
    /// Serves the tools over this process's stdin and stdout until the client closes stdin (or
    /// <paramref name="cancellationToken"/> fires). Only protocol messages go to stdout: log to stderr.
    /// </summary>
    public static async Task RunStdioAsync(IMcpCollectionHost host, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        var options = new McpServerOptions
        {
            ServerInfo = ServerInfo,
            ServerInstructions = Instructions,
            ToolCollection = [],
        };
        foreach (McpServerTool tool in CreateTools(host, loggerFactory))
        {
            options.ToolCollection.Add(tool);
        }

        var transport = new StdioServerTransport(options, loggerFactory);
        await using (transport.ConfigureAwait(false))
        {
            McpServer server = McpServer.Create(transport, options, loggerFactory);
            await using (server.ConfigureAwait(false))
            {
                await server.RunAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
