using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using Omnivec.Cli.Tests;
using Omnivec.Onnx;
using Omnivec.Server;
using Omnivec.Tests;

namespace Omnivec.Mcp.Tests;

/// <summary>The MCP search tool's <c>language</c> with an NLLB-CLIP pack: the same scores as <c>omnivec search --language</c>, a clear error for an unknown language.</summary>
public sealed class LanguageMcpTests : IAsyncLifetime
{
    private static readonly string s_pack = Path.Combine(TestPaths.Fixtures, "models", "tiny-nllb-clip-immich");

    private readonly string _root = Directory.CreateTempSubdirectory("omnivec-mcp-lang-").FullName;

    private string Store => Path.Combine(_root, "store");

    public async Task InitializeAsync()
    {
        string pictures = Path.Combine(_root, "pictures");
        Directory.CreateDirectory(pictures);
        foreach (string photo in new[] { "two_beagles.jpg", "bananas.jpg", "tomatoes.jpg" })
        {
            File.Copy(CliRunner.Photo(photo), Path.Combine(pictures, photo));
        }

        CliResult index = await CliRunner.RunAsync(["index", pictures, "--model", s_pack, "--store", Store, "--collection", "nllb"]);
        Assert.True(index.ExitCode == 0, index.StdErr);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    private static Dictionary<string, double> Scores(JsonElement found) =>
        found.GetProperty("results").EnumerateArray().ToDictionary(r => Path.GetFileName(r.GetProperty("path").GetString()!), r => r.GetProperty("score").GetDouble());

    [Fact]
    public async Task Search_reads_the_words_in_the_language_asked_for()
    {
        using var model = ClipEmbeddingGenerator.Load(s_pack);
        var options = new OmnivecServerOptions { StoreRoot = Store, DefaultCollection = "nllb", MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.Urls.Clear();
        options.Urls.Add("http://127.0.0.1:0");
        WebApplication app = OmnivecServer.Build(model, options);
        await app.StartAsync();
        try
        {
            string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            await using McpClient client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(new Uri(address), "/mcp"), TransportMode = HttpTransportMode.StreamableHttp,
            }));

            CliResult cli = await CliRunner.RunAsync(["search", "ein Hund am Strand", "--language", "de", "--store", Store, "--collection", "nllb", "--all", "--json"]);
            Assert.True(cli.ExitCode == 0, cli.StdErr);
            Dictionary<string, double> expected = Scores(JsonDocument.Parse(cli.StdOut).RootElement);

            Dictionary<string, double> german = Scores(StdioMcpTests.Structured(await client.CallToolAsync("search", new Dictionary<string, object?>
            {
                ["query"] = "ein Hund am Strand", ["language"] = "de", ["all"] = true,
            })));
            Assert.Equal(expected.Keys.Order(), german.Keys.Order());
            Assert.All(expected, e => Assert.Equal(e.Value, german[e.Key], 4));

            Dictionary<string, double> english = Scores(StdioMcpTests.Structured(await client.CallToolAsync("search", new Dictionary<string, object?>
            {
                ["query"] = "ein Hund am Strand", ["all"] = true,
            })));
            Assert.True(Math.Abs(german["two_beagles.jpg"] - english["two_beagles.jpg"]) > 1e-3, "the language must change the query");

            string error = StdioMcpTests.ErrorText(await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "ein Hund", ["language"] = "xx" }));
            Assert.Contains("Language 'xx'", error);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
