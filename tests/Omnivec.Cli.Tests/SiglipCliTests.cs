using System.Text.Json;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

/// <summary>
/// A SigLIP pack end to end on the command line: <c>search --json</c> reports the model's own match probability,
/// sigmoid(exp(logit_scale)·cos + logit_bias), with the two values the PyTorch reference script wrote down (not read
/// back from the graph by the code under test); CLIP packs and weighted mixes get none.
/// </summary>
public sealed class SiglipCliTests : IDisposable
{
    private static readonly string[] s_photos = ["bananas.jpg", "two_beagles.jpg", "hotdog.jpg", "tomatoes.jpg"];

    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-siglip-").FullName;

    private static string SiglipPack => Path.Combine(TestPaths.Fixtures, "models", "tiny-siglip-hf");

    private string Store => Path.Combine(_temp, "store");

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private async Task IndexAsync(string model, string collection)
    {
        string folder = Path.Combine(_temp, collection);
        Directory.CreateDirectory(folder);
        foreach (string photo in s_photos)
        {
            File.Copy(CliRunner.Photo(photo), Path.Combine(folder, photo), overwrite: true);
        }

        CliResult index = await CliRunner.RunAsync(["index", folder, "--model", model, "--store", Store, "--collection", collection]);
        Assert.True(index.ExitCode == 0, index.StdErr);
    }

    private static JsonElement[] Results(CliResult search)
    {
        Assert.True(search.ExitCode == 0, search.StdErr);
        return [.. JsonDocument.Parse(search.StdOut).RootElement.GetProperty("results").EnumerateArray()];
    }

    [Fact]
    public async Task Search_reports_the_sigmoid_match_probability_for_a_text_query_on_a_SigLIP_pack()
    {
        await IndexAsync(SiglipPack, "siglip");
        using JsonDocument reference = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "reference", "tiny-siglip.json")));
        double scale = reference.RootElement.GetProperty("logit_scale").GetDouble();
        double bias = reference.RootElement.GetProperty("logit_bias").GetDouble();

        JsonElement[] results = Results(await CliRunner.RunAsync(["search", "a dog", "--model", SiglipPack, "--store", Store, "--collection", "siglip", "--all", "--json"]));
        Assert.Equal(s_photos.Length, results.Length);
        foreach (JsonElement hit in results)
        {
            double score = hit.GetProperty("score").GetDouble();
            double expected = 1 / (1 + Math.Exp(-(Math.Exp(scale) * score + bias)));
            Assert.Equal(expected, hit.GetProperty("probability").GetDouble(), 5);
        }

        // The table (redirected: tab-separated) carries the probability as its third column.
        CliResult plain = await CliRunner.RunAsync(["search", "a dog", "--model", SiglipPack, "--store", Store, "--collection", "siglip", "--all"]);
        Assert.True(plain.ExitCode == 0, plain.StdErr);
        string[] first = plain.Lines[0].Split('\t');
        Assert.Equal(results[0].GetProperty("probability").GetDouble(), double.Parse(first[2], System.Globalization.CultureInfo.InvariantCulture), 4);

        // A weighted mix is not a text the model was trained to score: no probability.
        JsonElement[] mixed = Results(await CliRunner.RunAsync(["search", "a dog", "--minus", "people", "--model", SiglipPack, "--store", Store, "--collection", "siglip", "--all", "--json"]));
        Assert.All(mixed, hit => Assert.False(hit.TryGetProperty("probability", out _)));
    }

    [Fact]
    public async Task A_CLIP_pack_reports_no_probability()
    {
        await IndexAsync(CliRunner.ModelHf, "clip");
        JsonElement[] results = Results(await CliRunner.RunAsync(["search", "a dog", "--model", CliRunner.ModelHf, "--store", Store, "--collection", "clip", "--all", "--json"]));
        Assert.NotEmpty(results);
        Assert.All(results, hit => Assert.False(hit.TryGetProperty("probability", out _)));
    }
}
