using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Omnivec.Mcp;

/// <summary>
/// One tool: its protocol description (name, hand-written JSON schemas for input and output) and what a call does.
/// Every failure a caller can cause comes back as a tool error naming the problem; a bug is logged and reported as one
/// too, so a call never takes the server down.
/// </summary>
internal sealed class OmnivecTool : McpServerTool
{
    private readonly Func<ToolArguments, CancellationToken, Task<CallToolResult>> _run;
    private readonly string[] _arguments;
    private readonly ILogger _logger;

    public OmnivecTool(string name, string title, string description, string inputSchema, string outputSchema,
        Func<ToolArguments, CancellationToken, Task<CallToolResult>> run, ILogger logger)
    {
        _run = run;
        _logger = logger;
        JsonElement input = Parse(inputSchema);
        _arguments = [.. input.GetProperty("properties").EnumerateObject().Select(p => p.Name)];
        ProtocolTool = new Tool
        {
            Name = name,
            Title = title,
            Description = description,
            InputSchema = input,
            OutputSchema = Parse(outputSchema),
            Annotations = new ToolAnnotations { Title = title, ReadOnlyHint = true, DestructiveHint = false, IdempotentHint = true, OpenWorldHint = false },
        };
    }

    public override Tool ProtocolTool { get; }

    public override IReadOnlyList<object> Metadata => [];

    public override async ValueTask<CallToolResult> InvokeAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            var arguments = new ToolArguments(ProtocolTool.Name, request.Params?.Arguments, _arguments);
            return await _run(arguments, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OmnivecException e)
        {
            return Error(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return Error($"{ProtocolTool.Name}: {e.Message}");
        }
#pragma warning disable CA1031 // a tool call must never end the server: anything else is a bug, logged and reported to the caller
        catch (Exception e)
#pragma warning restore CA1031
        {
            _logger.LogError(e, "MCP tool {Tool} failed", ProtocolTool.Name);
            return Error($"{ProtocolTool.Name} failed with an internal error ({e.GetType().Name}: {e.Message}); this is a bug in Omnivec, please report it.");
        }
    }

    internal static CallToolResult Error(string message) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = message }],
    };

    private static JsonElement Parse(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
