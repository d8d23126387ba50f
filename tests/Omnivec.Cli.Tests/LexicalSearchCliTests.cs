using System.Text.Json;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

/// <summary>
/// <c>omnivec search --mode hybrid|vector|text</c>: file names and camera models are found by the lexical index and
/// fused with the vector ranking; vector mode is the plain cosine ranking; hostile query text never errors.
/// </summary>
public sealed class LexicalSearchCliTests : IDisposable
{
    // beach_kitesurfing.jpg was taken with a "Canon EOS REBEL T1i" and building_red_lettering.jpg with a "Nokia N70-1" (EXIF).
    private static readonly string[] s_photos = ["bananas.jpg", "two_beagles.jpg", "tomatoes.jpg", "white_mug.jpg", "cat_chelsea.png",
        "beach_kitesurfing.jpg", "building_red_lettering.jpg", "espresso_cup.png"];

    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-lexical-").FullName;

    private string Store => Path.Combine(_temp, "store");

    private string Folder => Path.Combine(_temp, "pics");

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private async Task IndexAsync()
    {
        Directory.CreateDirectory(Folder);
        foreach (string photo in s_photos)
        {
            File.Copy(CliRunner.Photo(photo), Path.Combine(Folder, photo));
        }

        // A corpus photo under a camera's file name, among the others.
        File.Copy(CliRunner.Photo("hotdog.jpg"), Path.Combine(Folder, "IMG_0042.jpg"));
        CliResult index = await CliRunner.RunAsync(["index", Folder, "--model", CliRunner.ModelHf, "--store", Store, "--collection", "pics"]);
        Assert.True(index.ExitCode == 0, index.StdErr);
    }

    private async Task<JsonElement> SearchAsync(params string[] args)
    {
        CliResult search = await CliRunner.RunAsync([.. args, "--store", Store, "--collection", "pics", "--json"]);
        Assert.True(search.ExitCode == 0, search.StdErr);
        Assert.DoesNotContain("   at ", search.StdErr, StringComparison.Ordinal);
        return JsonDocument.Parse(search.StdOut).RootElement;
    }

    private static string[] Names(JsonElement result) =>
        [.. result.GetProperty("results").EnumerateArray().Select(r => Path.GetFileName(r.GetProperty("path").GetString()!))];

    [Theory]
    [InlineData("IMG_0042")]
    [InlineData("img_0042")]
    [InlineData("IMG_0042.jpg")]
    [InlineData("0042")]
    public async Task Search_finds_a_file_by_its_name_in_hybrid_mode(string query)
    {
        await IndexAsync();
        JsonElement found = await SearchAsync("search", query);
        Assert.False(found.GetProperty("no_match").GetBoolean());
        Assert.Equal("hybrid", found.GetProperty("mode").GetString());
        JsonElement first = found.GetProperty("results")[0];
        Assert.Equal(Path.Combine(Folder, "IMG_0042.jpg"), first.GetProperty("path").GetString());
        Assert.True(first.GetProperty("text_match").GetBoolean());

        JsonElement text = await SearchAsync("search", query, "--mode", "text");
        Assert.Equal(["IMG_0042.jpg"], Names(text));
        Assert.Equal("text", text.GetProperty("mode").GetString());
    }

    [Fact]
    public async Task Vector_mode_is_the_exact_cosine_ranking_and_hybrid_adds_only_name_matches()
    {
        await IndexAsync();
        string[] files = [.. s_photos.Append("IMG_0042.jpg").Select(p => Path.Combine(Folder, p))];
        var args = new List<string> { "embed", "--model", CliRunner.ModelHf, "--json", "--text", "IMG_0042" };
        foreach (string f in files)
        {
            args.AddRange(["--image", f]);
        }

        CliResult embed = await CliRunner.RunAsync(args, null, null);
        Assert.True(embed.ExitCode == 0, embed.StdErr);
        var vectors = embed.Lines.Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(e => e.GetProperty("input").GetString()!, e => e.GetProperty("embedding").EnumerateArray().Select(v => v.GetDouble()).ToArray());
        double[] q = vectors["IMG_0042"];
        double Cos(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * b.Sum(x => x * x));
        string[] expected = [.. files.OrderByDescending(f => Cos(q, vectors[f])).Select(Path.GetFileName)!];

        JsonElement vector = await SearchAsync("search", "IMG_0042", "--mode", "vector", "--all", "--exact", "--top", "20");
        Assert.Equal(expected, Names(vector));
        Assert.Equal("vector", vector.GetProperty("mode").GetString());
        Assert.All(vector.GetProperty("results").EnumerateArray(), r => Assert.False(r.TryGetProperty("text_match", out _)));

        // With the cutoff, vector mode keeps what it kept before; hybrid keeps the same and adds the named file.
        JsonElement cutVector = await SearchAsync("search", "IMG_0042", "--mode", "vector", "--top", "20");
        JsonElement cutHybrid = await SearchAsync("search", "IMG_0042", "--top", "20");
        Assert.Equal([.. Names(cutVector).Append("IMG_0042.jpg").Distinct().Order(StringComparer.Ordinal)], Names(cutHybrid).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Minus_words_leave_out_items_named_by_them_in_hybrid_and_text_mode_but_not_in_vector_mode()
    {
        // Two photos named for beagles, one of them also for the beach (beach_kitesurfing.jpg is named for it too).
        Directory.CreateDirectory(Folder);
        File.Copy(CliRunner.Photo("puppies_on_road.jpg"), Path.Combine(Folder, "beagle_beach.jpg"));
        File.Copy(CliRunner.Photo("yoga_pose_beach.jpg"), Path.Combine(Folder, "beagle_park.jpg"));
        await IndexAsync();

        string[] plain = Names(await SearchAsync("search", "beagle"));
        Assert.Contains("beagle_beach.jpg", plain);
        Assert.Contains("beagle_park.jpg", plain);

        // search beagle --minus beach: the beach-named photo is not lifted by "beagle", nor shown at all, even with --all.
        string[] minus = Names(await SearchAsync("search", "beagle", "--minus", "beach"));
        Assert.Contains("beagle_park.jpg", minus);
        Assert.DoesNotContain("beagle_beach.jpg", minus);
        string[] all = Names(await SearchAsync("search", "beagle", "--minus", "beach", "--all", "--top", "20"));
        Assert.Equal(s_photos.Length + 3 - 2, all.Length);
        Assert.DoesNotContain("beagle_beach.jpg", all);
        Assert.DoesNotContain("beach_kitesurfing.jpg", all);
        Assert.Equal(["beagle_park.jpg", "two_beagles.jpg"], Names(await SearchAsync("search", "beagle", "--minus", "beach", "--mode", "text")).Order());
        // A weighted term and a multi-word one: every word of the term must be in the name.
        Assert.DoesNotContain("beagle_beach.jpg", Names(await SearchAsync("search", "beagle", "--minus", "0.2:text:beagle beach", "--all", "--top", "20")));
        Assert.Contains("beagle_beach.jpg", Names(await SearchAsync("search", "beagle", "--minus", "beach cat", "--all", "--top", "20")));

        // Vector mode is the vector only: the beach-named photos are still ranked.
        string[] vector = Names(await SearchAsync("search", "beagle", "--minus", "beach", "--mode", "vector", "--all", "--top", "20"));
        Assert.Contains("beagle_beach.jpg", vector);
        Assert.Contains("beach_kitesurfing.jpg", vector);

        // An image minus words (hybrid without positive words) leaves them out too.
        string[] image = Names(await SearchAsync("search", "--image", CliRunner.Photo("puppies_on_road.jpg"), "--minus", "beach", "--all", "--top", "20"));
        Assert.DoesNotContain("beagle_beach.jpg", image);
        Assert.Contains("beagle_park.jpg", image);
    }

    [Fact]
    public async Task A_camera_model_from_EXIF_finds_the_photos_taken_with_it()
    {
        await IndexAsync();
        JsonElement rebel = await SearchAsync("search", "EOS Rebel", "--mode", "text");
        Assert.Equal(["beach_kitesurfing.jpg"], Names(rebel));
        JsonElement nokia = await SearchAsync("search", "nokia");
        JsonElement first = nokia.GetProperty("results")[0];
        Assert.Equal("building_red_lettering.jpg", Path.GetFileName(first.GetProperty("path").GetString()));
        Assert.True(first.GetProperty("text_match").GetBoolean());
        Assert.StartsWith("Nokia", first.GetProperty("camera").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hostile_query_text_never_errors()
    {
        await IndexAsync();
        foreach (string query in (string[])["\"*\"", "NEAR(img 0042, 2", "img -0042", "name:img", "a & b | !c <-> d:*", "日本語 😀 é", "' OR 1=1 --", "((( AND"])
        {
            foreach (string mode in (string[])["hybrid", "text"])
            {
                CliResult search = await CliRunner.RunAsync(["search", query, "--mode", mode, "--store", Store, "--collection", "pics", "--json"]);
                Assert.True(search.ExitCode == 0, $"{mode} '{query}': {search.StdErr}");
                JsonElement result = JsonDocument.Parse(search.StdOut).RootElement;
                Assert.True(result.TryGetProperty("no_match", out _));
            }
        }

        // After "--", an option-like query is a query too.
        CliResult dashed = await CliRunner.RunAsync(["search", "--store", Store, "--collection", "pics", "--json", "--", "-IMG_0042:*"]);
        Assert.True(dashed.ExitCode == 0, dashed.StdErr);
        Assert.Equal("IMG_0042.jpg", Path.GetFileName(JsonDocument.Parse(dashed.StdOut).RootElement.GetProperty("results")[0].GetProperty("path").GetString()));

        CliResult bad = await CliRunner.RunAsync(["search", "x", "--mode", "fuzzy", "--store", Store, "--collection", "pics"]);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("--mode must be hybrid, vector or text", bad.StdErr, StringComparison.Ordinal);
    }
}
