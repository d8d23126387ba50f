using System.Diagnostics;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Omnivec.Cli.Tests;

namespace Omnivec.Mcp.Tests;

/// <summary><c>omnivec mcp</c> as an assistant sees it: the real CLI as a child process, driven by the SDK's client over stdio.</summary>
public sealed class StdioMcpTests(ShapesStore shapes) : IClassFixture<ShapesStore>
{
    private async Task<McpClient> ConnectAsync()
    {
        var options = new StdioClientTransportOptions
        {
            Name = "omnivec",
            Command = "dotnet",
            Arguments = [Path.Combine(AppContext.BaseDirectory, "omnivec.dll"), "mcp", "--store", shapes.Store, "--collection", ShapesStore.Collection],
            EnvironmentVariables = new Dictionary<string, string?>
            {
                ["HF_HUB_OFFLINE"] = "1",
                ["HF_HOME"] = Path.Combine(shapes.Root, "hf-home"),
                ["OMNIVEC_HOME"] = Path.Combine(shapes.Root, "home"),
            },
        };
        return await McpClient.CreateAsync(new StdioClientTransport(options));
    }

    internal static JsonElement Structured(CallToolResult result)
    {
        Assert.False(result.IsError is true, string.Join("\n", result.Content.OfType<TextContentBlock>().Select(t => t.Text)));
        Assert.NotNull(result.StructuredContent);
        return JsonSerializer.SerializeToElement(result.StructuredContent);
    }

    internal static string ErrorText(CallToolResult result)
    {
        Assert.True(result.IsError is true, "expected a tool error");
        return string.Join("\n", result.Content.OfType<TextContentBlock>().Select(t => t.Text));
    }

    [Fact]
    public async Task A_minus_word_leaves_out_items_whose_name_holds_it()
    {
        // minus ["IMG_0007"]: the picture named so is not shown at all, even with all=true (the CLI's --minus rule);
        // in vector mode it is still ranked, so it is the rule that leaves it out.
        await using McpClient client = await ConnectAsync();
        string[] Names(JsonElement found) => [.. found.GetProperty("results").EnumerateArray().Select(r => Path.GetFileName(r.GetProperty("path").GetString()!))];
        JsonElement plain = Structured(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "a circle", ["all"] = true, ["limit"] = 1000 }));
        Assert.Contains("IMG_0007.png", Names(plain));
        JsonElement minus = Structured(await client.CallToolAsync("search", new Dictionary<string, object?>
        {
            ["query"] = "a circle", ["minus"] = new[] { "IMG_0007" }, ["all"] = true, ["limit"] = 1000,
        }));
        Assert.DoesNotContain("IMG_0007.png", Names(minus));
        Assert.Equal(Names(plain).Length - 1, Names(minus).Length);
        JsonElement vector = Structured(await client.CallToolAsync("search", new Dictionary<string, object?>
        {
            ["query"] = "a circle", ["minus"] = new[] { "IMG_0007" }, ["all"] = true, ["limit"] = 1000, ["mode"] = "vector",
        }));
        Assert.Contains("IMG_0007.png", Names(vector));
    }

    [Fact]
    public async Task Lists_the_tools_with_schemas_and_searches_exactly_like_the_cli()
    {
        await using McpClient client = await ConnectAsync();
        IList<McpClientTool> tools = await client.ListToolsAsync();
        Assert.Equal(["classify", "list_collections", "search", "similar"], tools.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray());
        McpClientTool search = tools.Single(t => t.Name == "search");
        string[] arguments = search.ProtocolTool.InputSchema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Superset(new HashSet<string> { "query", "plus", "minus", "min_score", "all", "sort", "limit", "type", "collection", "mode" }, arguments.ToHashSet());
        Assert.NotNull(search.ProtocolTool.OutputSchema);

        // The algebra with the cutoff off: the same items with the same scores in the same order as `omnivec search --json`.
        JsonElement viaMcp = Structured(await client.CallToolAsync("search", new Dictionary<string, object?>
        {
            ["query"] = "a circle", ["minus"] = new[] { "red" }, ["plus"] = new[] { "0.5:two circles" }, ["all"] = true, ["limit"] = 16,
        }));
        JsonElement viaCli = await shapes.CliSearchAsync("a circle", "--minus", "red", "--plus", "0.5:two circles", "--all", "--top", "16");
        Assert.Equal(16, ShapesStore.Ranking(viaMcp).Length);
        Assert.Equal(ShapesStore.Ranking(viaCli), ShapesStore.Ranking(viaMcp));
        Assert.Equal(viaCli.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("path").GetString()),
            viaMcp.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("path").GetString()));

        // The automatic cutoff and date order: the same matches, the same threshold.
        JsonElement redMcp = Structured(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["sort"] = "date", ["limit"] = 100 }));
        JsonElement redCli = await shapes.CliSearchAsync("red", "--sort", "date", "--top", "100");
        Assert.False(redMcp.GetProperty("no_match").GetBoolean());
        Assert.NotEmpty(ShapesStore.Ranking(redMcp));
        Assert.Equal(ShapesStore.Ranking(redCli), ShapesStore.Ranking(redMcp));
        Assert.Equal(redCli.GetProperty("threshold").GetSingle(), redMcp.GetProperty("threshold").GetSingle());

        // A file name: hybrid (the default) finds it as a match by name, text mode finds only it, both as the CLI does.
        JsonElement byNameMcp = Structured(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "IMG_0007" }));
        JsonElement byNameCli = await shapes.CliSearchAsync("IMG_0007");
        Assert.Equal("hybrid", byNameMcp.GetProperty("mode").GetString());
        Assert.False(byNameMcp.GetProperty("no_match").GetBoolean());
        Assert.Equal(ShapesStore.Ranking(byNameCli), ShapesStore.Ranking(byNameMcp));
        Assert.EndsWith("IMG_0007.png", byNameMcp.GetProperty("results")[0].GetProperty("path").GetString(), StringComparison.Ordinal);
        Assert.Equal([ShapesStore.Ranking(byNameMcp)[0].Id], byNameMcp.GetProperty("text_matches").EnumerateArray().Select(e => e.GetInt64()));
        JsonElement textMcp = Structured(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "img_0007", ["mode"] = "text" }));
        Assert.Equal(ShapesStore.Ranking(await shapes.CliSearchAsync("img_0007", "--mode", "text")), ShapesStore.Ranking(textMcp));
        Assert.Single(ShapesStore.Ranking(textMcp));
        Assert.Contains("'mode'", ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["mode"] = "fuzzy" })));

        // Nothing purple: "no match" in both, and the text summary says so.
        CallToolResult purple = await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "a purple star" });
        Assert.True(Structured(purple).GetProperty("no_match").GetBoolean());
        Assert.True((await shapes.CliSearchAsync("a purple star")).GetProperty("no_match").GetBoolean());
        Assert.Contains("No match", purple.Content.OfType<TextContentBlock>().Single().Text);

        // An item as a query term, and similar by path: the example itself is left out.
        long first = ShapesStore.Ranking(viaCli)[0].Id;
        JsonElement byItem = Structured(await client.CallToolAsync("search", new Dictionary<string, object?> { ["plus"] = new[] { $"item:{first}" }, ["all"] = true, ["limit"] = 5 }));
        Assert.DoesNotContain(first, ShapesStore.Ranking(byItem).Select(r => r.Id));
        string firstPath = viaCli.GetProperty("results")[0].GetProperty("path").GetString()!;
        JsonElement similar = Structured(await client.CallToolAsync("similar", new Dictionary<string, object?> { ["item"] = firstPath, ["limit"] = 5 }));
        Assert.Equal(first, similar.GetProperty("item_id").GetInt64());
        Assert.Equal(ShapesStore.Ranking(byItem).Select(r => r.Id), ShapesStore.Ranking(similar).Select(r => r.Id));

        JsonElement listed = Structured(await client.CallToolAsync("list_collections"));
        Assert.Equal(ShapesStore.Collection, listed.GetProperty("default_collection").GetString());
        Assert.Equal(90, listed.GetProperty("collections").EnumerateArray().Single(c => c.GetProperty("name").GetString() == ShapesStore.Collection).GetProperty("count").GetInt64());

        // classify: the labels' probabilities for a picture whose colour is known.
        string truthLine = File.ReadAllLines(Path.Combine(Omnivec.Tests.TestPaths.Fixtures, "shapes", "truth.tsv")).Skip(1).First(l => l.Split('\t')[1] == "red");
        string redPicture = Path.Combine(shapes.Pictures, truthLine.Split('\t')[0]);
        JsonElement classified = Structured(await client.CallToolAsync("classify", new Dictionary<string, object?>
        {
            ["image"] = redPicture, ["labels"] = new[] { "red", "green", "blue", "yellow" }, ["templates"] = "simple",
        }));
        JsonElement[] labels = classified.GetProperty("labels").EnumerateArray().ToArray();
        Assert.Equal(4, labels.Length);
        Assert.Equal(1.0, labels.Sum(l => l.GetProperty("probability").GetDouble()), 3);
    }

    [Fact]
    public async Task Bad_input_comes_back_as_a_tool_error_naming_the_problem_and_the_server_keeps_serving()
    {
        await using McpClient client = await ConnectAsync();
        Assert.Contains("'nope'", ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["collection"] = "nope" })));
        Assert.Contains("cancel out", ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "dog", ["minus"] = new[] { "dog" } })));
        Assert.Contains("'x:image:a.png'", ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["plus"] = new[] { "x:image:a.png" } })));
        Assert.Contains("no such item", ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["plus"] = new[] { "item:999999" } })));
        Assert.Contains("'limit'", ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["limit"] = "ten" })));
        Assert.Contains("'sort'", ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["sort"] = "sideways" })));
        Assert.Contains("'colour'", ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["colour"] = "red" })));
        Assert.Contains("labels", ErrorText(await client.CallToolAsync("classify", new Dictionary<string, object?> { ["item"] = 1, ["labels"] = new[] { "red" } })));
        Assert.Contains("not in collection", ErrorText(await client.CallToolAsync("similar", new Dictionary<string, object?> { ["item"] = "/no/such/file.png" })));

        // Still serving after every error.
        Assert.Equal(ShapesStore.Collection, Structured(await client.CallToolAsync("list_collections")).GetProperty("default_collection").GetString());
    }

    [Fact]
    public async Task Stdout_carries_only_protocol_messages_and_the_server_exits_when_stdin_closes()
    {
        using var process = Process.Start(CliRunner.StartInfo(["mcp", "--store", shapes.Store, "--collection", ShapesStore.Collection],
            new Dictionary<string, string?> { ["HF_HOME"] = Path.Combine(shapes.Root, "hf-home") }))!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            async Task<JsonElement> RequestAsync(string json)
            {
                await process.StandardInput.WriteLineAsync(json);
                await process.StandardInput.FlushAsync();
                string? line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
                Assert.NotNull(line);
                JsonElement message = JsonDocument.Parse(line).RootElement.Clone();
                Assert.Equal("2.0", message.GetProperty("jsonrpc").GetString());
                return message;
            }

            JsonElement init = await RequestAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}""");
            Assert.Equal("omnivec", init.GetProperty("result").GetProperty("serverInfo").GetProperty("name").GetString());
            await process.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""");
            // A search loads the model (which logs and may print progress): none of that may reach stdout.
            JsonElement found = await RequestAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search","arguments":{"query":"a green square","all":true,"limit":3}}}""");
            Assert.Equal(2, found.GetProperty("id").GetInt32());
            Assert.Equal(3, found.GetProperty("result").GetProperty("structuredContent").GetProperty("results").GetArrayLength());

            process.StandardInput.Close();
            string rest = await process.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(1));
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
            Assert.Equal(0, process.ExitCode);
            foreach (string line in rest.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Assert.Equal("2.0", JsonDocument.Parse(line).RootElement.GetProperty("jsonrpc").GetString());
            }

            Assert.Contains("MCP server on stdio", await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
