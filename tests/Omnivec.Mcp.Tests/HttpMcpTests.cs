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
