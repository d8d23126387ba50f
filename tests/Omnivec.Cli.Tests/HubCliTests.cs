using System.Text.Json;
using Omnivec.Hub.Tests;
using Omnivec.Onnx;

namespace Omnivec.Cli.Tests;

/// <summary>The CLI against a local server that speaks the Hub's protocol, serving the committed test models.</summary>
public sealed class HubCliTests : IDisposable
{
    private readonly FakeHub _hub = new();
    private readonly string _home = Directory.CreateTempSubdirectory("omnivec-hfhome-").FullName;

    public HubCliTests()
    {
        FakeRepo hf = _hub.AddRepo("omnivec-test/tiny-clip");
        AddFolder(hf, CliRunner.ModelHf);
        FakeRepo immich = _hub.AddRepo("omnivec-test/tiny-clip-immich");
        AddFolder(immich, CliRunner.ModelImmich);
    }

    private static void AddFolder(FakeRepo repo, string folder)
    {
        foreach (string file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(folder, file).Replace('\\', '/');
            repo.Add(relative, File.ReadAllBytes(file), lfs: relative.EndsWith(".onnx", StringComparison.Ordinal));
        }
    }

    private Dictionary<string, string?> Environment(bool offline = false) => new()
    {
        ["HF_ENDPOINT"] = _hub.Endpoint.ToString().TrimEnd('/'),
        ["HF_HOME"] = _home,
        ["HF_HUB_CACHE"] = null,
        ["HF_HUB_OFFLINE"] = offline ? "1" : "0",
    };

    [Fact]
    public async Task Embed_with_a_repo_id_pulls_then_embeds_and_a_second_run_makes_no_request()
    {
        CliResult first = await CliRunner.RunAsync(["embed", "--model", "omnivec-test/tiny-clip", "--text", "a dog", "--json"], Environment());
        Assert.True(first.ExitCode == 0, first.StdErr);
        Assert.Contains("Downloading omnivec-test/tiny-clip", first.StdErr);
        Assert.NotEmpty(_hub.Requests);
        Assert.DoesNotContain(_hub.Requests, r => r.PathAndQuery.Contains("vision_model_fp16", StringComparison.Ordinal)); // only what the variant needs

        JsonElement line = JsonDocument.Parse(first.Lines.Single()).RootElement;
        Assert.Equal("omnivec-test/tiny-clip", line.GetProperty("model").GetString());
        using var local = ClipEmbeddingGenerator.Load(CliRunner.ModelHf);
        float[] expected = local.EmbedTexts(["a dog"])[0];
        Assert.Equal(expected, line.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray());

        _hub.ClearRequests();
        CliResult second = await CliRunner.RunAsync(["embed", "--model", "omnivec-test/tiny-clip", "--text", "a dog", "--json"], Environment());
        Assert.True(second.ExitCode == 0, second.StdErr);
        Assert.Empty(_hub.Requests);
        Assert.Equal(first.StdOut, second.StdOut);

        // Offline mode works from the cache too.
        CliResult offline = await CliRunner.RunAsync(["embed", "--model", "omnivec-test/tiny-clip", "--text", "a dog", "--json"], Environment(offline: true));
        Assert.True(offline.ExitCode == 0, offline.StdErr);
    }

    [Fact]
    public async Task Models_pull_list_and_rm_manage_the_standard_cache()
    {
        CliResult pull = await CliRunner.RunAsync(["models", "pull", "omnivec-test/tiny-clip-immich"], Environment());
        Assert.True(pull.ExitCode == 0, pull.StdErr);
        string repoDir = Path.Combine(_home, "hub", "models--omnivec-test--tiny-clip-immich");
        Assert.True(File.Exists(Path.Combine(repoDir, "refs", "main")));
        string commit = File.ReadAllText(Path.Combine(repoDir, "refs", "main")).Trim();
        Assert.True(File.Exists(Path.Combine(repoDir, "snapshots", commit, "visual", "model.onnx")));

        CliResult list = await CliRunner.RunAsync(["models", "list", "--json"], Environment(offline: true));
        Assert.True(list.ExitCode == 0, list.StdErr);
        JsonElement root = JsonDocument.Parse(list.StdOut).RootElement;
        JsonElement installed = Assert.Single(root.GetProperty("installed").EnumerateArray());
        Assert.Equal("omnivec-test/tiny-clip-immich", installed.GetProperty("repo").GetString());
        Assert.Equal("Immich", installed.GetProperty("layout").GetString());
        Assert.True(installed.GetProperty("size_bytes").GetInt64() > 1_000_000);
        Assert.Contains(root.GetProperty("known_good").EnumerateArray(), k => k.GetProperty("repo").GetString() == "Xenova/clip-vit-base-patch32");

        // The pulled Immich pack embeds like the folder it came from.
        CliResult embed = await CliRunner.RunAsync(["embed", "--model", "omnivec-test/tiny-clip-immich", "--image", CliRunner.Photo("bananas.jpg"), "--json"], Environment(offline: true));
        Assert.True(embed.ExitCode == 0, embed.StdErr);

        CliResult rm = await CliRunner.RunAsync(["models", "rm", "omnivec-test/tiny-clip-immich"], Environment(offline: true));
        Assert.True(rm.ExitCode == 0, rm.StdErr);
        Assert.False(Directory.Exists(repoDir));
    }

    [Fact]
    public async Task Offline_without_a_cached_copy_and_an_unknown_repo_give_clear_errors()
    {
        CliResult offline = await CliRunner.RunAsync(["embed", "--model", "omnivec-test/tiny-clip", "--text", "x"], Environment(offline: true));
        Assert.NotEqual(0, offline.ExitCode);
        Assert.Contains("HF_HUB_OFFLINE", offline.StdErr);
        Assert.DoesNotContain("   at ", offline.StdErr);

        CliResult missing = await CliRunner.RunAsync(["embed", "--model", "omnivec-test/no-such-model", "--text", "x"], Environment());
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("omnivec-test/no-such-model", missing.StdErr);
        Assert.DoesNotContain("   at ", missing.StdErr);
    }

    public void Dispose()
    {
        _hub.Dispose();
        Directory.Delete(_home, recursive: true);
    }
}
