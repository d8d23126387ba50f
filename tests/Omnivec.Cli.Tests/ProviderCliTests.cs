using System.Text.Json;
using Omnivec.Providers.Tests.Fakes;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

/// <summary><c>omnivec embed/index/search --provider google|azure</c> against strict local fakes of the services.</summary>
public sealed class ProviderCliTests : IDisposable
{
    private readonly FakeVertexAIService _google = new();
    private readonly FakeAzureVisionService _azure = new();
    private readonly string _googleUrl;
    private readonly string _azureUrl;
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-providers-").FullName;

    public ProviderCliTests()
    {
        _googleUrl = _google.Start();
        _azureUrl = _azure.Start();
    }

    private static Dictionary<string, string?> Secrets() => new()
    {
        ["GOOGLE_OAUTH_ACCESS_TOKEN"] = FakeVertexAIService.DefaultAccessToken,
        ["AZURE_VISION_KEY"] = FakeAzureVisionService.DefaultApiKey,
    };

    private string[] GoogleFlags(params string[] more) =>
        ["--provider", "google", "--google-project", FakeVertexAIService.DefaultProject, "--google-location", FakeVertexAIService.DefaultLocation, "--google-endpoint", _googleUrl, .. more];

    private string[] AzureFlags(params string[] more) => ["--provider", "azure", "--azure-endpoint", _azureUrl, .. more];

    private static float[] Vector(JsonElement line) => line.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();

    [Fact]
    public async Task Google_embeds_text_images_and_video_segments_through_the_cli()
    {
        string video = Path.Combine(_temp, "clip.mp4");
        TestVideos.MakeShots(video, [("bananas.jpg", 20), ("hotdog.jpg", 20)], 64, 48, fps: 5);
        _google.ProbeVideos = true;
        CliResult result = await CliRunner.RunAsync(["embed", .. GoogleFlags(), "--text", "a dog", "--image", CliRunner.Photo("bananas.jpg"), "--video", video, "--interval", "16", "--json"], Secrets());
        Assert.True(result.ExitCode == 0, result.StdErr);
        JsonElement[] lines = result.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal("text", lines[0].GetProperty("modality").GetString());
        Assert.Equal(1408, lines[0].GetProperty("dimensions").GetInt32());
        Assert.True(VectorMath.Cosine(FakeServiceBase.UnitVector(FakeVertexAIService.TextSeed("a dog", 1408), 1408), Vector(lines[0])) > 0.99999f);
        Assert.Equal("image", lines[1].GetProperty("modality").GetString());
        JsonElement[] segments = lines.Where(l => l.GetProperty("modality").GetString() == "video").ToArray();
        Assert.Equal([0.0, 16.0, 32.0], segments.Select(s => s.GetProperty("start_offset_sec").GetDouble()));
        Assert.Equal([16.0, 32.0, 40.0], segments.Select(s => s.GetProperty("end_offset_sec").GetDouble()));

        CliResult small = await CliRunner.RunAsync(["embed", .. GoogleFlags("--dimensions", "256"), "--text", "a dog", "--json"], Secrets());
        Assert.True(small.ExitCode == 0, small.StdErr);
        Assert.Equal(256, JsonDocument.Parse(small.Lines[0]).RootElement.GetProperty("dimensions").GetInt32());

        CliResult bad = await CliRunner.RunAsync(["embed", .. GoogleFlags("--dimensions", "300"), "--text", "a dog"], Secrets());
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("1408", bad.StdErr);
        Assert.DoesNotContain(FakeVertexAIService.DefaultAccessToken, bad.StdErr + bad.StdOut);
    }

    [Fact]
    public async Task Google_embeds_a_video_longer_than_the_service_window_as_one_continuous_list_of_segments()
    {
        // 150 s: beyond the 120 s the service analyses per request, so the CLI must split it (real default limits).
        string video = Path.Combine(_temp, "long.mp4");
        TestVideos.MakeShots(video, [("bananas.jpg", 50), ("hotdog.jpg", 50), ("motel_sign.jpg", 50)], 64, 48, fps: 5,
            codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"]);
        _google.ProbeVideos = true;

        CliResult result = await CliRunner.RunAsync(["embed", .. GoogleFlags(), "--video", video, "--json"], Secrets());

        Assert.True(result.ExitCode == 0, result.StdErr);
        JsonElement[] segments = result.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        double[] starts = segments.Select(s => s.GetProperty("start_offset_sec").GetDouble()).ToArray();
        double[] ends = segments.Select(s => s.GetProperty("end_offset_sec").GetDouble()).ToArray();
        Assert.Equal(0, starts[0]);
        for (int i = 1; i < segments.Length; i++)
        {
            Assert.Equal(ends[i - 1], starts[i], 3);
        }

        Assert.All(segments, s => Assert.InRange(s.GetProperty("end_offset_sec").GetDouble() - s.GetProperty("start_offset_sec").GetDouble(), 0.05, 16.001));
        Assert.Equal(150, ends[^1], 0);
        Assert.All(segments, s => Assert.Equal("video", s.GetProperty("modality").GetString()));
        Assert.Equal(2, _google.VideoRequests.Count); // 0-110 s (the last keyframe before 7 whole 16 s segments) and 110-150 s
        Assert.All(_google.VideoRequests, r => Assert.InRange(r.DurationSec!.Value, 1, 120));
    }

    [Fact]
    public async Task Azure_embeds_text_and_images_and_reports_service_errors()
    {
        CliResult result = await CliRunner.RunAsync(["embed", .. AzureFlags(), "--text", "a dog on a beach", "--image", CliRunner.Photo("hotdog.jpg"), "--json"], Secrets());
        Assert.True(result.ExitCode == 0, result.StdErr);
        JsonElement[] lines = result.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Equal(1024, l.GetProperty("dimensions").GetInt32()));
        Assert.True(VectorMath.Cosine(FakeServiceBase.UnitVector(FakeAzureVisionService.TextSeed("a dog on a beach", "2023-04-15"), 1024), Vector(lines[0])) > 0.99999f);

        CliResult wrongKey = await CliRunner.RunAsync(["embed", .. AzureFlags(), "--text", "x"], new Dictionary<string, string?> { ["AZURE_VISION_KEY"] = "wrong-key-123" });
        Assert.NotEqual(0, wrongKey.ExitCode);
        Assert.Contains("401", wrongKey.StdErr);
        Assert.DoesNotContain("wrong-key-123", wrongKey.StdErr);
    }

    [Theory]
    [InlineData("google")]
    [InlineData("azure")]
    public async Task Index_and_search_work_end_to_end_with_a_cloud_provider(string provider)
    {
        string folder = Directory.CreateDirectory(Path.Combine(_temp, "pics-" + provider)).FullName;
        foreach (string name in new[] { "bananas.jpg", "two_beagles.jpg", "hotdog.jpg" })
        {
            File.Copy(CliRunner.Photo(name), Path.Combine(folder, name));
        }

        string store = Path.Combine(_temp, "store-" + provider);
        string[] flags = provider == "google" ? GoogleFlags() : AzureFlags();
        CliResult index = await CliRunner.RunAsync(["index", folder, .. flags, "--store", store], Secrets());
        Assert.True(index.ExitCode == 0, index.StdErr);
        Assert.Contains("3 added", index.StdOut);

        // Search needs no provider flags: the collection remembers how it was made (but never the secrets).
        CliResult search = await CliRunner.RunAsync(["search", "--image", Path.Combine(folder, "two_beagles.jpg"), "--store", store, "--json"], Secrets());
        Assert.True(search.ExitCode == 0, search.StdErr);
        JsonElement results = JsonDocument.Parse(search.StdOut).RootElement.GetProperty("results");
        Assert.Equal(Path.Combine(folder, "two_beagles.jpg"), results[0].GetProperty("path").GetString());
        Assert.Equal(1.0, results[0].GetProperty("score").GetDouble(), 3);

        CliResult text = await CliRunner.RunAsync(["search", "two dogs", "--store", store, "--json", "--top", "2"], Secrets());
        Assert.True(text.ExitCode == 0, text.StdErr);
        Assert.Equal(2, JsonDocument.Parse(text.StdOut).RootElement.GetProperty("results").GetArrayLength());

        // A local model cannot search a collection of provider vectors.
        CliResult mixed = await CliRunner.RunAsync(["search", "two dogs", "--store", store, "--provider", "local", "--model", CliRunner.ModelHf]);
        Assert.NotEqual(0, mixed.ExitCode);
        Assert.Contains("not comparable", mixed.StdErr);

        foreach (string file in Directory.GetFiles(store, "*", SearchOption.AllDirectories))
        {
            string content = File.ReadAllText(file);
            Assert.DoesNotContain(FakeVertexAIService.DefaultAccessToken, content);
            Assert.DoesNotContain(FakeAzureVisionService.DefaultApiKey, content);
        }
    }

    public void Dispose()
    {
        _google.Dispose();
        _azure.Dispose();
        Directory.Delete(_temp, recursive: true);
    }
}
