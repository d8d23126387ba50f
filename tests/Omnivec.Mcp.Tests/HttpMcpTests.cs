using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Omnivec.Onnx;
using Omnivec.Server;

namespace Omnivec.Mcp.Tests;

/// <summary><c>/mcp</c> on a real server (127.0.0.1, random port) over the same collection, driven by the SDK's HTTP client.</summary>
public sealed class HttpMcpTests(ShapesStore shapes) : IClassFixture<ShapesStore>
{
    private async Task<(WebApplication App, Uri Endpoint, ClipEmbeddingGenerator Model)> StartAsync(string? apiKey = null)
    {
        var model = ClipEmbeddingGenerator.Load(ShapesStore.Model);
        var options = new OmnivecServerOptions { StoreRoot = shapes.Store, DefaultCollection = ShapesStore.Collection, MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.Urls.Clear();
        options.Urls.Add("http://127.0.0.1:0");
        if (apiKey is not null)
        {
            options.ApiKeys.Add(apiKey);
        }

        WebApplication app = OmnivecServer.Build(model, options);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return (app, new Uri(new Uri(address), "/mcp"), model);
    }

    private static Task<McpClient> ConnectAsync(Uri endpoint, string? apiKey = null) =>
        McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = apiKey is null ? null : new Dictionary<string, string> { ["Authorization"] = "Bearer " + apiKey },
        }));

    [Fact]
    public async Task Search_over_http_ranks_like_the_cli_and_refuses_files_on_the_server()
    {
        (WebApplication app, Uri endpoint, ClipEmbeddingGenerator model) = await StartAsync();
        try
        {
            await using McpClient client = await ConnectAsync(endpoint);
            Assert.Equal(["classify", "list_collections", "search", "similar"], (await client.ListToolsAsync()).Select(t => t.Name).Order(StringComparer.Ordinal).ToArray());

            JsonElement viaMcp = StdioMcpTests.Structured(await client.CallToolAsync("search", new Dictionary<string, object?>
            {
                ["query"] = "a circle", ["minus"] = new[] { "red" }, ["all"] = true, ["limit"] = 12,
            }));
            JsonElement viaCli = await shapes.CliSearchAsync("a circle", "--minus", "red", "--all", "--top", "12");
            Assert.Equal(ShapesStore.Ranking(viaCli), ShapesStore.Ranking(viaMcp));
            // The server does not show where its files live: names only.
            Assert.Equal(viaCli.GetProperty("results").EnumerateArray().Select(r => Path.GetFileName(r.GetProperty("path").GetString())),
                viaMcp.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("path").GetString()));

            JsonElement red = StdioMcpTests.Structured(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["limit"] = 100 }));
            Assert.Equal(ShapesStore.Ranking(await shapes.CliSearchAsync("red", "--top", "100")), ShapesStore.Ranking(red));

            // An image sent as data (a picture of the collection) finds itself first.
            string picture = Path.Combine(shapes.Pictures, "IMG_0007.png");
            JsonElement byImage = StdioMcpTests.Structured(await client.CallToolAsync("search", new Dictionary<string, object?>
            {
                ["image_base64"] = "data:image/png;base64," + Convert.ToBase64String(File.ReadAllBytes(picture)), ["all"] = true, ["limit"] = 1,
            }));
            Assert.Equal("IMG_0007.png", byImage.GetProperty("results")[0].GetProperty("path").GetString());

            Assert.Contains("does not read files", StdioMcpTests.ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["plus"] = new[] { "image:/etc/passwd" } })));
            Assert.Contains("does not read files", StdioMcpTests.ErrorText(await client.CallToolAsync("classify", new Dictionary<string, object?> { ["image"] = picture, ["labels"] = new[] { "red", "blue" } })));
            Assert.Contains("'nope'", StdioMcpTests.ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["collection"] = "nope" })));
            Assert.Contains("cancel out", StdioMcpTests.ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "red", ["minus"] = new[] { "red" } })));
            Assert.Contains("not base64", StdioMcpTests.ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["image_base64"] = "%%%" })));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            model.Dispose();
        }
    }

    [Fact]
    public async Task V1_search_with_mixed_terms_and_the_cutoff_ranks_like_the_cli()
    {
        (WebApplication app, Uri endpoint, ClipEmbeddingGenerator model) = await StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = endpoint };
            async Task<JsonElement> SearchAsync(object body)
            {
                using HttpResponseMessage response = await http.PostAsync("/v1/search", new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"));
                string text = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, text);
                return JsonDocument.Parse(text).RootElement.Clone();
            }

            // Text, a negative text, an indexed item and an uploaded image, each weighted: the CLI's terms, the same ranking.
            long item = ShapesStore.Ranking(await shapes.CliSearchAsync("two green triangles", "--all", "--top", "1"))[0].Id;
            string picture = Path.Combine(shapes.Pictures, "IMG_0011.png");
            JsonElement viaHttp = await SearchAsync(new
            {
                collection = ShapesStore.Collection, all = true, top_k = 15,
                query = new object[]
                {
                    new { text = "a circle" }, new { text = "red", weight = -1 }, new { item_id = item, weight = 0.5 },
                    new { image = Convert.ToBase64String(File.ReadAllBytes(picture)), weight = 0.25 },
                },
            });
            JsonElement viaCli = await shapes.CliSearchAsync("a circle", "--minus", "red", "--plus", $"0.5:item:{item}", "--plus", $"0.25:image:{picture}", "--all", "--top", "15");
            Assert.Equal(15, ShapesStore.Ranking(viaHttp).Length);
            ShapesStore.AssertSameRanking(viaCli, viaHttp);

            // The automatic cutoff (the default for 'query'), date order, and "no match".
            JsonElement red = await SearchAsync(new { collection = ShapesStore.Collection, query = "red", sort = "date", top_k = 100 });
            JsonElement redCli = await shapes.CliSearchAsync("red", "--sort", "date", "--top", "100");
            Assert.Equal(ShapesStore.Ranking(redCli), ShapesStore.Ranking(red));
            Assert.Equal(redCli.GetProperty("threshold").GetSingle(), red.GetProperty("threshold").GetSingle());
            Assert.Equal(redCli.GetProperty("passed").GetInt32(), red.GetProperty("passed").GetInt32());
            JsonElement purple = await SearchAsync(new { collection = ShapesStore.Collection, query = new[] { new { text = "a purple star" } } });
            Assert.True(purple.GetProperty("no_match").GetBoolean());
            Assert.Empty(purple.GetProperty("results").EnumerateArray());

            // The single-term form keeps answering with the nearest items unless asked to cut.
            Assert.Equal(10, (await SearchAsync(new { collection = ShapesStore.Collection, text = "a purple star" })).GetProperty("results").GetArrayLength());
            Assert.True((await SearchAsync(new { collection = ShapesStore.Collection, text = "a purple star", all = false })).GetProperty("no_match").GetBoolean());
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            model.Dispose();
        }
    }

    [Fact]
    public async Task The_server_api_key_guards_mcp_too()
    {
        (WebApplication app, Uri endpoint, ClipEmbeddingGenerator model) = await StartAsync(apiKey: "sesame");
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(async () => await (await ConnectAsync(endpoint)).DisposeAsync());
            using (var http = new HttpClient())
            {
                using HttpResponseMessage refused = await http.PostAsync(endpoint, new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
                Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
            }

            await using McpClient client = await ConnectAsync(endpoint, "sesame");
            JsonElement listed = StdioMcpTests.Structured(await client.CallToolAsync("list_collections"));
            Assert.Contains(listed.GetProperty("collections").EnumerateArray(), c => c.GetProperty("name").GetString() == ShapesStore.Collection);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            model.Dispose();
        }
    }
}
