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

    private static readonly string[] s_labels = ["Hund", "Banane", "Tomate", "Katze"];

    /// <summary>Each label's similarity is the cosine of the PyTorch embeddings of the photo and of "a photo of a {label}." in <paramref name="language"/>.</summary>
    private static void AssertLabelsMatch(JsonElement classified, string photo, string language)
    {
        float[] image = NllbReference.Image(photo);
        JsonElement[] labels = [.. classified.GetProperty("labels").EnumerateArray()];
        Assert.Equal(s_labels.Order(), labels.Select(l => l.GetProperty("label").GetString()!).Order());
        foreach (JsonElement label in labels)
        {
            float expected = VectorMath.Cosine(image, NllbReference.Text(language, $"a photo of a {label.GetProperty("label").GetString()}."));
            Assert.True(Math.Abs(expected - label.GetProperty("similarity").GetSingle()) < 2e-3, $"{label}: PyTorch reference {expected} ({language})");
        }
    }

    /// <summary>Each hit's score is the cosine of the PyTorch embeddings of its photo and of <paramref name="plain"/> in <paramref name="language"/>.</summary>
    private static void AssertScoresMatch(JsonElement found, string language, string plain)
    {
        float[] text = NllbReference.Text(language, plain);
        JsonElement[] results = [.. found.GetProperty("results").EnumerateArray()];
        Assert.Equal(3, results.Length);
        foreach (JsonElement hit in results)
        {
            string name = Path.GetFileName(hit.GetProperty("path").GetString()!);
            float expected = VectorMath.Cosine(text, NllbReference.Image(name));
            Assert.True(Math.Abs(expected - hit.GetProperty("score").GetSingle()) < 2e-3, $"{name}: score {hit.GetProperty("score")}, PyTorch reference {expected} ({language})");
        }
    }

    [Fact]
    public async Task Omnivec_mcp_reads_requests_without_a_language_in_the_locales()
    {
        // LANG=de_DE.UTF-8 and no --language or OMNIVEC_LANGUAGE: search and classify read German (deu_Latn); a call's
        // own language still wins.
        var options = new StdioClientTransportOptions
        {
            Name = "omnivec",
            Command = "dotnet",
            Arguments = [Path.Combine(AppContext.BaseDirectory, "omnivec.dll"), "mcp", "--store", Store, "--collection", "nllb"],
            EnvironmentVariables = new Dictionary<string, string?>
            {
                ["HF_HUB_OFFLINE"] = "1",
                ["HF_HOME"] = Path.Combine(_root, "hf-home"),
                ["OMNIVEC_HOME"] = Path.Combine(_root, "home"),
                ["OMNIVEC_LANGUAGE"] = "",
                ["LC_ALL"] = "",
                ["LC_MESSAGES"] = "",
                ["LANG"] = "de_DE.UTF-8",
            },
        };
        await using McpClient client = await McpClient.CreateAsync(new StdioClientTransport(options));

        AssertScoresMatch(StdioMcpTests.Structured(await client.CallToolAsync("search", new Dictionary<string, object?>
        {
            ["query"] = "ein Hund am Strand", ["all"] = true,
        })), "deu_Latn", "ein Hund am Strand");
        AssertLabelsMatch(StdioMcpTests.Structured(await client.CallToolAsync("classify", new Dictionary<string, object?>
        {
            ["labels"] = s_labels, ["image"] = CliRunner.Photo("two_beagles.jpg"), ["templates"] = "simple",
        })), "two_beagles.jpg", "deu_Latn");
        AssertScoresMatch(StdioMcpTests.Structured(await client.CallToolAsync("search", new Dictionary<string, object?>
        {
            ["query"] = "ein Hund am Strand", ["all"] = true, ["language"] = "eng_Latn",
        })), "eng_Latn", "ein Hund am Strand");
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

            // classify reads its prompts in the language asked for: each label's similarity is the PyTorch reference's.
            string image = Convert.ToBase64String(File.ReadAllBytes(CliRunner.Photo("two_beagles.jpg")));
            foreach ((string? language, string code) in new[] { ((string?)"de", "deu_Latn"), (null, "eng_Latn") })
            {
                var arguments = new Dictionary<string, object?> { ["labels"] = s_labels, ["image_base64"] = image, ["templates"] = "simple" };
                if (language is not null)
                {
                    arguments["language"] = language;
                }

                AssertLabelsMatch(StdioMcpTests.Structured(await client.CallToolAsync("classify", arguments)), "two_beagles.jpg", code);
            }

            // An unknown language is refused before the (broken) image is looked at.
            error = StdioMcpTests.ErrorText(await client.CallToolAsync("classify", new Dictionary<string, object?>
            {
                ["labels"] = s_labels, ["image_base64"] = "bm90IGFuIGltYWdl", ["language"] = "xx",
            }));
            Assert.Contains("Language 'xx'", error);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
