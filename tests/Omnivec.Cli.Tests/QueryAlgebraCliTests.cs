using System.Text.Json;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

/// <summary>
/// <c>omnivec search</c> with weighted terms (--plus/--minus): the ranking must equal an exact cosine ranking against
/// normalise(Σ wᵢ·normalise(eᵢ)) computed here from <c>omnivec embed</c> outputs; bad terms fail with the term named.
/// </summary>
public sealed class QueryAlgebraCliTests : IDisposable
{
    private static readonly string[] s_photos = ["bananas.jpg", "two_beagles.jpg", "hotdog.jpg", "tomatoes.jpg", "white_mug.jpg", "cat_chelsea.png",
        "espresso_cup.png"];

    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-algebra-").FullName;

    private string Store => Path.Combine(_temp, "store");

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private async Task<string> IndexPhotosAsync()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_temp, "pics")).FullName;
        foreach (string photo in s_photos)
        {
            File.Copy(CliRunner.Photo(photo), Path.Combine(folder, photo));
        }

        CliResult index = await CliRunner.RunAsync(["index", folder, "--model", CliRunner.ModelHf, "--store", Store, "--collection", "pics"]);
        Assert.True(index.ExitCode == 0, index.StdErr);
        return folder;
    }

    private static async Task<Dictionary<string, float[]>> EmbedAsync(IEnumerable<string> texts, IEnumerable<string> images)
    {
        var args = new List<string> { "embed", "--model", CliRunner.ModelHf, "--json" };
        foreach (string t in texts)
        {
            args.AddRange(["--text", t]);
        }

        foreach (string i in images)
        {
            args.AddRange(["--image", i]);
        }

        CliResult embed = await CliRunner.RunAsync(args, null, null);
        Assert.True(embed.ExitCode == 0, embed.StdErr);
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (string line in embed.Lines)
        {
            JsonElement e = JsonDocument.Parse(line).RootElement;
            vectors[e.GetProperty("input").GetString()!] = e.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        }

        return vectors;
    }

    private static float[] Unit(float[] v)
    {
        double norm = Math.Sqrt(v.Sum(x => (double)x * x));
        return v.Select(x => (float)(x / norm)).ToArray();
    }

    private static double Dot(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();

    [Fact]
    public async Task Weighted_text_image_and_item_terms_rank_exactly_like_the_normalised_weighted_sum_of_embed_outputs()
    {
        string folder = await IndexPhotosAsync();
        string[] paths = s_photos.Select(p => Path.Combine(folder, p)).ToArray();
        string reference = CliRunner.Photo("tomatoes.jpg");
        Dictionary<string, float[]> e = await EmbedAsync(["a dog", "people", "a cup of coffee"], [.. paths, reference]);

        // search "a dog" --minus people --plus 0.5:image:REF --plus -0.3:item:<mug> --plus 2:text:a cup of coffee
        string mug = Path.Combine(folder, "white_mug.jpg");
        (string Key, double Weight)[] terms = [("a dog", 1), ("people", -1), (reference, 0.5), (mug, -0.3), ("a cup of coffee", 2)];
        var sum = new double[e["a dog"].Length];
        foreach ((string key, double weight) in terms)
        {
            float[] unit = Unit(e[key]);
            for (int i = 0; i < sum.Length; i++)
            {
                sum[i] += weight * unit[i];
            }
        }

        float[] q = Unit(sum.Select(x => (float)x).ToArray());
        (string Path, double Score)[] expected = paths.Select(p => (p, Dot(q, Unit(e[p])))).OrderByDescending(x => x.Item2).ToArray();

        CliResult search = await CliRunner.RunAsync(["search", "a dog", "--minus", "people", "--plus", "0.5:image:" + reference, "--plus", "-0.3:item:" + mug,
            "--plus", "2:text:a cup of coffee", "--store", Store, "--collection", "pics", "--json", "--all", "--exact", "--top", "20"]);
        Assert.True(search.ExitCode == 0, search.StdErr);
        JsonElement[] results = [.. JsonDocument.Parse(search.StdOut).RootElement.GetProperty("results").EnumerateArray()];
        Assert.Equal(expected.Length, results.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Path, results[i].GetProperty("path").GetString());
            Assert.Equal(expected[i].Score, results[i].GetProperty("score").GetDouble(), 3);
        }

        // A positive item term is an example: it is left out of its own results, and the rest keep the exact order.
        string beagles = Path.Combine(folder, "two_beagles.jpg");
        float[] q2 = Unit(Unit(e["a cup of coffee"]).Zip(Unit(e[beagles]), (a, b) => a + 0.7f * b).ToArray());
        string[] expected2 = paths.Where(p => p != beagles).OrderByDescending(p => Dot(q2, Unit(e[p]))).ToArray();
        CliResult byItem = await CliRunner.RunAsync(["search", "a cup of coffee", "--plus", "0.7:item:" + beagles, "--store", Store, "--collection", "pics",
            "--json", "--all", "--top", "20"]);
        Assert.True(byItem.ExitCode == 0, byItem.StdErr);
        Assert.Equal(expected2, JsonDocument.Parse(byItem.StdOut).RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("path").GetString()!).ToArray());
    }

    [Fact]
    public async Task Bad_terms_fail_with_the_term_named_and_no_stack_trace()
    {
        string folder = await IndexPhotosAsync();
        string broken = Path.Combine(_temp, "broken.jpg");
        File.WriteAllBytes(broken, [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 1, 2, 3]);
        string[] common = ["--store", Store, "--collection", "pics"];
        (string[] Args, string Expected)[] cases =
        [
            (["search", "a dog", "--plus", "video:clip.mp4"], "unknown kind 'video'"),
            (["search", "a dog", "--plus", "lots:image:" + broken], "weight 'lots' is not a number"),
            (["search", "a dog", "--minus", "a dog"], "cancel out"),
            (["search", "a dog", "--minus", "1:text:a dog", "--plus", "0:text:cat"], "cancel out"),
            (["search", "a dog", "--plus", "item:987654"], "item 987654"),
            (["search", "a dog", "--plus", "item:" + Path.Combine(folder, "nope.jpg")], "nope.jpg"),
            (["search", "a dog", "--plus", "image:" + broken], "broken.jpg"),
            (["search", "a dog", "--plus", "image:" + Path.Combine(_temp, "missing.png")], "missing.png"),
            (["search", "a dog", "--plus", "nan:text:cat"], "finite"),
            (["search", "a dog", "--plus", "audio:" + Path.Combine(TestPaths.Fixtures, "reference", "clap", "tone-2.3s.wav")], "embeds text and images only"),
            (["search", "a dog", "--plus", "audio:" + Path.Combine(_temp, "missing.wav")], "cannot read the audio file"),
            (["search", "a dog", "--sort", "colour"], "--sort"),
        ];
        foreach ((string[] args, string expected) in cases)
        {
            CliResult result = await CliRunner.RunAsync([.. args, .. common], null, null);
            Assert.True(result.ExitCode != 0, string.Join(' ', args) + " should fail");
            Assert.Contains(expected, result.StdErr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", result.StdErr);
        }
    }

    [Fact]
    public void Term_syntax_parses_weights_kinds_and_plain_words()
    {
        var plain = Indexing.Query.QueryTerm.Parse("people", -1f);
        Assert.Equal((Indexing.Query.QueryTermKind.Text, -1f, "people"), (plain.Kind, plain.Weight, plain.Text));
        var weighted = Indexing.Query.QueryTerm.Parse("0.5:a beach at sunset");
        Assert.Equal((0.5f, "a beach at sunset"), (weighted.Weight, weighted.Text));
        var colonWords = Indexing.Query.QueryTerm.Parse("note: a cat");
        Assert.Equal("note: a cat", colonWords.Text);
        var explicitText = Indexing.Query.QueryTerm.Parse("-2:text:item:42");
        Assert.Equal((-2f, "item:42"), (explicitText.Weight, explicitText.Text));
        var byId = Indexing.Query.QueryTerm.Parse("1.5:item:42", -1f);
        Assert.Equal((Indexing.Query.QueryTermKind.Item, -1.5f, 42L), (byId.Kind, byId.Weight, byId.ItemId));
        string wav = Path.Combine(TestPaths.Fixtures, "reference", "clap", "tone-2.3s.wav");
        var audio = Indexing.Query.QueryTerm.Parse("0.5:audio:" + wav, -1f);
        Assert.Equal((Indexing.Query.QueryTermKind.Audio, -0.5f, wav), (audio.Kind, audio.Weight, audio.AudioName));
        Assert.Equal(File.ReadAllBytes(wav), audio.Audio.ToArray());
        Assert.StartsWith("-0.5 × audio ", audio.Label);
        Assert.Equal(Indexing.Query.QueryTermKind.Audio, Indexing.Query.QueryTerm.Parse("sound:" + wav).Kind);
    }
}
