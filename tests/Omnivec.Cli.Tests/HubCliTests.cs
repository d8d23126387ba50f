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
    public async Task Models_list_available_asks_the_Hub_for_each_packs_download_size_and_says_why_when_it_cannot()
    {
        // The default model's repo id served with the tiny pack's files: its size is what a pull of fp32 fetches.
        FakeRepo repo = _hub.AddRepo("Xenova/clip-vit-base-patch32");
        AddFolder(repo, CliRunner.ModelHf);

        CliResult list = await CliRunner.RunAsync(["models", "list", "--available", "--json"], Environment());
        Assert.True(list.ExitCode == 0, list.StdErr);
        JsonElement[] rows = [.. JsonDocument.Parse(list.StdOut).RootElement.GetProperty("available").EnumerateArray()];
        Assert.Contains(rows, r => r.GetProperty("family").GetString() == "siglip");
        Assert.Contains(rows, r => r.GetProperty("family").GetString() == "clap" && r.GetProperty("media").GetString() == "audio");
        JsonElement clip = Assert.Single(rows, r => r.GetProperty("repo").GetString() == "Xenova/clip-vit-base-patch32");
        Assert.Equal(512, clip.GetProperty("dimensions").GetInt32());
        Assert.False(clip.GetProperty("installed").GetBoolean());

        CliResult pull = await CliRunner.RunAsync(["models", "pull", "Xenova/clip-vit-base-patch32"], Environment());
        Assert.True(pull.ExitCode == 0, pull.StdErr);
        string repoDir = Path.Combine(_home, "hub", "models--Xenova--clip-vit-base-patch32");
        long pulled = Directory.GetFiles(Path.Combine(repoDir, "blobs")).Sum(f => new FileInfo(f).Length);
        Assert.Equal(pulled, clip.GetProperty("download_bytes").GetInt64());

        // Repos the fake Hub does not have: no size, and the reason.
        JsonElement siglip = Assert.Single(rows, r => r.GetProperty("repo").GetString() == "Xenova/siglip-base-patch16-224");
        Assert.Equal(JsonValueKind.Null, siglip.GetProperty("download_bytes").ValueKind);
        Assert.Equal("NotFound", siglip.GetProperty("download_bytes_unknown").GetString());

        // Offline: the table still prints, sizes are unknown for that reason, and the pulled model shows as installed.
        CliResult offline = await CliRunner.RunAsync(["models", "list", "--available", "--json"], Environment(offline: true));
        Assert.True(offline.ExitCode == 0, offline.StdErr);
        JsonElement[] offlineRows = [.. JsonDocument.Parse(offline.StdOut).RootElement.GetProperty("available").EnumerateArray()];
        Assert.All(offlineRows, r => Assert.Equal("offline", r.GetProperty("download_bytes_unknown").GetString()));
        Assert.True(offlineRows.Single(r => r.GetProperty("repo").GetString() == "Xenova/clip-vit-base-patch32").GetProperty("installed").GetBoolean());

        // The human table names the families and the measured speed of the default.
        CliResult table = await CliRunner.RunAsync(["models", "list", "--available"], Environment(offline: true));
        Assert.True(table.ExitCode == 0, table.StdErr);
        Assert.Contains("siglip", table.StdOut);
        Assert.Contains("19.1", table.StdOut);
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
