using System.Text.Json;
using Omnivec.Cli.Tests;
using Omnivec.Tests;

namespace Omnivec.Mcp.Tests;

/// <summary>
/// The trained shapes model's evaluation pictures (tests/fixtures/shapes), indexed once by the real CLI into a
/// temporary store: what the MCP tools search, and what <c>omnivec search --json</c> is compared with.
/// </summary>
public sealed class ShapesStore : IAsyncLifetime
{
    public static string Model { get; } = Path.Combine(TestPaths.Fixtures, "models", "shapes-clip");

    public string Root { get; } = Directory.CreateTempSubdirectory("omnivec-mcp-").FullName;

    public string Store => Path.Combine(Root, "store");

    public string Pictures => Path.Combine(Root, "shapes");

    public const string Collection = "shapes";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Pictures);
        foreach (string file in Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "shapes"), "*.png"))
        {
            File.Copy(file, Path.Combine(Pictures, Path.GetFileName(file)));
        }

        CliResult index = await CliRunner.RunAsync(["index", Pictures, "--model", Model, "--store", Store, "--collection", Collection]);
        Assert.True(index.ExitCode == 0, index.StdErr);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary><c>omnivec search … --json</c> on this store.</summary>
    public async Task<JsonElement> CliSearchAsync(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(["search", .. args, "--store", Store, "--collection", Collection, "--json"]);
        Assert.True(result.ExitCode == 0, result.StdErr);
        return JsonDocument.Parse(result.StdOut).RootElement.Clone();
    }

    /// <summary>
    /// The same items in the same order with the same scores. Scores may differ in the last float digit: an image term
    /// read from a file (CLI) and one sent as bytes (HTTP) take different decode paths into the same model.
    /// </summary>
    public static void AssertSameRanking(JsonElement expected, JsonElement actual)
    {
        (long Id, float Score)[] e = Ranking(expected), a = Ranking(actual);
        Assert.Equal(e.Select(r => r.Id), a.Select(r => r.Id));
        for (int i = 0; i < e.Length; i++)
        {
            Assert.Equal(e[i].Score, a[i].Score, 5);
        }
    }

    /// <summary>(id, score) of each result, in order.</summary>
    public static (long Id, float Score)[] Ranking(JsonElement root) =>
        root.GetProperty("results").EnumerateArray().Select(r => (r.GetProperty("id").GetInt64(), r.GetProperty("score").GetSingle())).ToArray();
}
