using System.Text.Json;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

/// <summary>
/// The trained shapes model (tools/make_shapes_model.py) on its evaluation pictures, whose contents are known
/// (tests/fixtures/shapes/truth.tsv): text→image ranking, the algebra, the automatic cutoff ("no match") and --sort date.
/// </summary>
public sealed class ShapesModelCliTests : IDisposable
{
    private static readonly string s_model = Path.Combine(TestPaths.Fixtures, "models", "shapes-clip");
    private static readonly string s_pictures = Path.Combine(TestPaths.Fixtures, "shapes");
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-shapes-").FullName;

    private string Store => Path.Combine(_temp, "store");

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static Dictionary<string, string[]> Truth() =>
        File.ReadAllLines(Path.Combine(s_pictures, "truth.tsv")).Skip(1).Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f);

    /// <summary>Copies the pictures with modification times in a known, shuffled order (for --sort date).</summary>
    private async Task<string> IndexAsync()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_temp, "shapes")).FullName;
        var start = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        int i = 0;
        foreach (string file in Directory.GetFiles(s_pictures, "*.png").Order(StringComparer.Ordinal))
        {
            string target = Path.Combine(folder, Path.GetFileName(file));
            File.Copy(file, target);
            File.SetLastWriteTimeUtc(target, start.AddDays((i++ * 37) % 97));
        }

        CliResult index = await CliRunner.RunAsync(["index", folder, "--model", s_model, "--store", Store, "--collection", "shapes"]);
        Assert.True(index.ExitCode == 0, index.StdErr);
        return folder;
    }

    private async Task<JsonElement> SearchAsync(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(["search", .. args, "--store", Store, "--collection", "shapes", "--json"], null, null);
        Assert.True(result.ExitCode == 0, result.StdErr);
        return JsonDocument.Parse(result.StdOut).RootElement;
    }

    private static string[] Names(JsonElement root) =>
        root.GetProperty("results").EnumerateArray().Select(r => Path.GetFileName(r.GetProperty("path").GetString()!)).ToArray();

    [Fact]
    public async Task Text_ranks_true_matches_first_and_the_cutoff_says_no_match_for_what_is_not_there()
    {
        await IndexAsync();
        Dictionary<string, string[]> truth = Truth();

        // Ranking: the pictures that fit each description come first.
        foreach ((string query, Func<string[], bool> fits) in new (string, Func<string[], bool>)[]
        {
            ("a red circle", t => t[1] == "red" && t[2] == "circle" && t[3] == "1"),
            ("two green triangles", t => t[1] == "green" && t[2] == "triangle" && t[3] == "2"),
            ("a yellow square on the left", t => t[1] == "yellow" && t[2] == "square" && t[4] == "left"),
        })
        {
            string[] expected = truth.Values.Where(fits).Select(t => t[0]).Order(StringComparer.Ordinal).ToArray();
            string[] top = Names(await SearchAsync(query, "--all", "--top", expected.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Equal(expected, top.Order(StringComparer.Ordinal).ToArray());
        }

        // No picture shows purple or a star: "no match", not the nearest noise; --all still shows the nearest.
        foreach (string query in new[] { "a purple star", "two stars", "purple" })
        {
            JsonElement none = await SearchAsync(query);
            Assert.True(none.GetProperty("no_match").GetBoolean(), query);
            Assert.Empty(Names(none));
            Assert.Equal(10, Names(await SearchAsync(query, "--all")).Length);
        }

        CliResult plain = await CliRunner.RunAsync(["search", "a purple star", "--store", Store, "--collection", "shapes"]);
        Assert.Contains("No match", plain.StdOut);

        // "red": what passes is exactly the red pictures; --sort date shows only them, oldest first.
        string[] red = truth.Values.Where(t => t[1] == "red").Select(t => t[0]).Order(StringComparer.Ordinal).ToArray();
        JsonElement byDate = await SearchAsync("red", "--sort", "date", "--top", "100");
        string[] dated = Names(byDate);
        Assert.Equal(red, dated.Order(StringComparer.Ordinal).ToArray());
        DateTimeOffset[] times = byDate.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("modified_utc").GetDateTimeOffset()).ToArray();
        Assert.Equal(times.Order().ToArray(), times);
        JsonElement newest = await SearchAsync("red", "--sort", "newest", "--top", "100");
        Assert.Equal(dated.Reverse().ToArray(), Names(newest));

        // An absolute floor above every score leaves nothing, even with --all.
        Assert.True((await SearchAsync("red", "--all", "--min-score", "0.99")).GetProperty("no_match").GetBoolean());
    }

    [Fact]
    public async Task Shapes_minus_red_ranks_shapes_that_are_not_red_first()
    {
        await IndexAsync();
        Dictionary<string, string[]> truth = Truth();
        string[] plain = Names(await SearchAsync("a circle", "--all", "--top", "20"));
        string[] minusRed = Names(await SearchAsync("a circle", "--minus", "red", "--all", "--top", "16"));
        Assert.Contains(plain, n => truth[n][1] == "red");
        Assert.All(minusRed, n => Assert.NotEqual("red", truth[n][1]));
        Assert.All(minusRed.Take(8), n => Assert.Equal("circle", truth[n][2]));
    }

    [Fact]
    public async Task Onnx_outputs_match_the_pytorch_reference_of_the_trained_model()
    {
        using JsonDocument reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "reference", "shapes-clip.json")));
        var args = new List<string> { "embed", "--model", s_model, "--json" };
        var expected = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (JsonElement t in reference.RootElement.GetProperty("texts").EnumerateArray())
        {
            string text = t.GetProperty("text").GetString()!;
            if (text.Length == 0)
            {
                continue;
            }

            args.AddRange(["--text", text]);
            expected[text] = t.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        }

        foreach (JsonElement i in reference.RootElement.GetProperty("images").EnumerateArray())
        {
            string path = Path.Combine(s_pictures, i.GetProperty("file").GetString()!);
            args.AddRange(["--image", path]);
            expected[path] = i.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        }

        CliResult embed = await CliRunner.RunAsync(args, null, null);
        Assert.True(embed.ExitCode == 0, embed.StdErr);
        foreach (string line in embed.Lines)
        {
            JsonElement e = JsonDocument.Parse(line).RootElement;
            float[] got = e.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            float[] want = expected[e.GetProperty("input").GetString()!];
            double dot = got.Zip(want, (a, b) => (double)a * b).Sum();
            double cos = dot / Math.Sqrt(got.Sum(a => (double)a * a) * want.Sum(b => (double)b * b));
            Assert.True(cos > 0.9999, $"{e.GetProperty("input").GetString()}: cosine {cos}");
        }

        Assert.Equal(expected.Count, embed.Lines.Length);
    }
}
