using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

/// <summary>
/// Issue #15's "done when", on the command line with the committed test packs: <c>omnivec index ~/Pictures --model
/// &lt;siglip pack&gt;</c> then a search with match probabilities, and <c>omnivec search "ein Hund am Strand" --model
/// &lt;multilingual pack&gt;</c> (M-CLIP, and NLLB-CLIP with <c>--language</c>). Every score is checked against the cosine
/// of the PyTorch reference embeddings the pack's script wrote (tests/fixtures/reference), never against numbers in the test.
/// </summary>
public sealed class MultilingualCliTests : IDisposable
{
    private static readonly string[] s_photos = ["two_beagles.jpg", "bananas.jpg", "cat_chelsea.png", "tomatoes.jpg", "hotdog.jpg"];

    private readonly string _home = Directory.CreateTempSubdirectory("omnivec-home-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private static string Pack(string name) => Path.Combine(TestPaths.Fixtures, "models", name);

    private string Pictures => Path.Combine(_home, "Pictures");

    private Dictionary<string, string?> Environment => new() { ["HOME"] = _home, ["OMNIVEC_HOME"] = Path.Combine(_home, ".omnivec"), ["OMNIVEC_LANGUAGE"] = null,
        ["LC_ALL"] = null, ["LC_MESSAGES"] = null, ["LANG"] = null };

    private async Task IndexPicturesAsync(string pack, string collection)
    {
        Directory.CreateDirectory(Pictures);
        foreach (string photo in s_photos)
        {
            File.Copy(CliRunner.Photo(photo), Path.Combine(Pictures, photo), overwrite: true);
        }

        CliResult index = await CliRunner.RunAsync(["index", Pictures, "--model", pack, "--collection", collection], Environment);
        Assert.True(index.ExitCode == 0, index.StdErr);
    }

    private async Task<JsonElement[]> SearchAsync(params string[] args)
    {
        CliResult search = await CliRunner.RunAsync(["search", .. args, "--all", "--json"], Environment);
        Assert.True(search.ExitCode == 0, search.StdErr);
        return [.. JsonDocument.Parse(search.StdOut).RootElement.GetProperty("results").EnumerateArray()];
    }

    /// <summary>The reference text (by what the pack is given) and image embeddings, as the pack's script wrote them.</summary>
    private static (float[] Text, Dictionary<string, float[]> Images, JsonElement Root) Reference(string file, string text)
    {
        JsonElement root = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "reference", file))).RootElement;
        float[] Floats(JsonElement e) => e.EnumerateArray().Select(x => x.GetSingle()).ToArray();
        float[] textEmbedding = Floats(root.GetProperty("texts").EnumerateArray().First(t => t.GetProperty("text").GetString() == text).GetProperty("embedding"));
        var images = root.GetProperty("images").EnumerateArray().ToDictionary(i => Path.GetFileName(i.GetProperty("file").GetString()!), i => Floats(i.GetProperty("embedding")));
        return (textEmbedding, images, root);
    }

    private static void AssertScoresEqualReference(JsonElement[] results, float[] text, Dictionary<string, float[]> images)
    {
        Assert.Equal(s_photos.Length, results.Length);
        foreach (JsonElement hit in results)
        {
            string name = Path.GetFileName(hit.GetProperty("path").GetString()!);
            double expected = VectorMath.Cosine(text, images[name]);
            double score = hit.GetProperty("score").GetDouble();
            Assert.True(Math.Abs(expected - score) < 2e-3, $"{name}: score {score}, PyTorch reference {expected}");
        }

        double[] scores = results.Select(h => h.GetProperty("score").GetDouble()).ToArray();
        Assert.Equal(scores.OrderDescending(), scores);
    }

    [Fact]
    public async Task Index_Pictures_with_a_SigLIP_pack_then_search_with_match_probabilities()
    {
        string siglip = Pack("tiny-siglip-hf");
        await IndexPicturesAsync(siglip, "siglip");
        (float[] text, Dictionary<string, float[]> images, JsonElement root) = Reference("tiny-siglip.json", "ein Hund am Strand");
        JsonElement[] results = await SearchAsync("ein Hund am Strand", "--model", siglip, "--collection", "siglip");
        AssertScoresEqualReference(results, text, images);
        double scale = root.GetProperty("logit_scale").GetDouble(), bias = root.GetProperty("logit_bias").GetDouble();
        foreach (JsonElement hit in results)
        {
            double expected = 1 / (1 + Math.Exp(-(Math.Exp(scale) * hit.GetProperty("score").GetDouble() + bias)));
            Assert.Equal(expected, hit.GetProperty("probability").GetDouble(), 5);
        }
    }

    [Theory]
    [InlineData("tiny-siglip-immich", "tiny-siglip.json")]
    [InlineData("tiny-siglip2-immich", "tiny-siglip2.json")]
    public async Task Index_Pictures_with_an_Immich_SigLIP_pack_gives_the_scores_of_the_same_weights_in_PyTorch(string pack, string reference)
    {
        // Immich's SigLIP exports carry no logit_scale/logit_bias, so there is no probability to report.
        await IndexPicturesAsync(Pack(pack), "immich");
        (float[] text, Dictionary<string, float[]> images, _) = Reference(reference, "ein Hund am Strand");
        JsonElement[] results = await SearchAsync("ein Hund am Strand", "--model", Pack(pack), "--collection", "immich");
        AssertScoresEqualReference(results, text, images);
        Assert.All(results, hit => Assert.False(hit.TryGetProperty("probability", out _)));
    }

    [Fact]
    public async Task Omnivec_serve_reads_requests_without_a_language_in_the_locales()
    {
        // LANG=de_DE.UTF-8, no --language or OMNIVEC_LANGUAGE: requests that name no language are read in German
        // (deu_Latn), on /v1/search and /v1/classify alike; a request's own language still wins; the start-up log says so.
        string nllb = Pack("tiny-nllb-clip-immich");
        await IndexPicturesAsync(nllb, "nllb");
        (float[] german, Dictionary<string, float[]> images, JsonElement root) = Reference("tiny-nllb-clip.json", "deu_Latnein Hund am Strand");
        (float[] english, _, _) = Reference("tiny-nllb-clip.json", "ein Hund am Strand");

        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var environment = new Dictionary<string, string?>(Environment) { ["LANG"] = "de_DE.UTF-8" };
        ProcessStartInfo info = CliRunner.StartInfo(["serve", "--model", nllb, "--collection", "nllb", "--urls", $"http://127.0.0.1:{port}"], environment);
        using var server = Process.Start(info)!;
        server.StandardInput.Close();
        Task<string> stderr = server.StandardError.ReadToEndAsync();
        Task<string> stdout = server.StandardOutput.ReadToEndAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(2) };
        try
        {
            await CliRunner.WaitUntilReadyAsync(server, http, stderr, TimeSpan.FromMinutes(3));
            async Task<JsonElement> PostAsync(string path, object body)
            {
                HttpResponseMessage response = await http.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
                string text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, text);
                return JsonDocument.Parse(text).RootElement.Clone();
            }

            AssertScoresEqualReference([.. (await PostAsync("/v1/search", new { text = "ein Hund am Strand", all = true, top_k = 10 })).GetProperty("results").EnumerateArray()],
                german, images);
            AssertScoresEqualReference([.. (await PostAsync("/v1/search", new { text = "ein Hund am Strand", all = true, top_k = 10, language = "en" })).GetProperty("results").EnumerateArray()],
                english, images);

            JsonElement classified = await PostAsync("/v1/classify", new
            {
                image = Convert.ToBase64String(File.ReadAllBytes(CliRunner.Photo("two_beagles.jpg"))), labels = new[] { "Hund", "Banane", "Katze" }, templates = "simple",
            });
            foreach (JsonElement label in classified.GetProperty("labels").EnumerateArray())
            {
                string prompt = $"deu_Latna photo of a {label.GetProperty("label").GetString()}.";
                float[] text = root.GetProperty("texts").EnumerateArray().First(t => t.GetProperty("text").GetString() == prompt)
                    .GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
                double expected = VectorMath.Cosine(text, images["two_beagles.jpg"]);
                Assert.True(Math.Abs(expected - label.GetProperty("similarity").GetDouble()) < 2e-3, $"{label}: PyTorch reference {expected}");
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }

        string log = await stderr;
        _ = await stdout;
        Assert.Contains("deu_Latn (LANG=de_DE.UTF-8)", log);
    }

    [Fact]
    public async Task Search_ein_Hund_am_Strand_with_the_M_CLIP_pack()
    {
        string mclip = Pack("tiny-mclip-immich");
        await IndexPicturesAsync(mclip, "mclip");
        (float[] text, Dictionary<string, float[]> images, _) = Reference("tiny-mclip.json", "ein Hund am Strand");
        JsonElement[] results = await SearchAsync("ein Hund am Strand", "--model", mclip, "--collection", "mclip");
        AssertScoresEqualReference(results, text, images);
        Assert.All(results, hit => Assert.False(hit.TryGetProperty("probability", out _)));

        // M-CLIP reads any language: --language changes nothing and says so.
        CliResult told = await CliRunner.RunAsync(["search", "ein Hund am Strand", "--model", mclip, "--collection", "mclip", "--all", "--json", "--language", "de"], Environment);
        Assert.True(told.ExitCode == 0, told.StdErr);
        Assert.Contains("ignored", told.StdErr);
    }

    [Fact]
    public async Task Search_ein_Hund_am_Strand_with_the_NLLB_CLIP_pack_in_German()
    {
        string nllb = Pack("tiny-nllb-clip-immich");
        await IndexPicturesAsync(nllb, "nllb");
        (float[] german, Dictionary<string, float[]> images, _) = Reference("tiny-nllb-clip.json", "deu_Latnein Hund am Strand");
        foreach (string language in new[] { "de", "deu_Latn", "de-AT" })
        {
            AssertScoresEqualReference(await SearchAsync("ein Hund am Strand", "--model", nllb, "--collection", "nllb", "--language", language), german, images);
        }

        // OMNIVEC_LANGUAGE is the default; without either the pack's own (eng_Latn) applies.
        CliResult fromEnvironment = await CliRunner.RunAsync(["search", "ein Hund am Strand", "--model", nllb, "--collection", "nllb", "--all", "--json"],
            new Dictionary<string, string?>(Environment) { ["OMNIVEC_LANGUAGE"] = "de" });
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.StdErr);
        AssertScoresEqualReference([.. JsonDocument.Parse(fromEnvironment.StdOut).RootElement.GetProperty("results").EnumerateArray()], german, images);
        (float[] english, _, _) = Reference("tiny-nllb-clip.json", "ein Hund am Strand");
        AssertScoresEqualReference(await SearchAsync("ein Hund am Strand", "--model", nllb, "--collection", "nllb"), english, images);

        // Neither given: the locale's language (LC_ALL before LC_MESSAGES before LANG); C, or one the pack lacks, is English.
        async Task<CliResult> InLocale(params (string Name, string Value)[] locale)
        {
            var environment = new Dictionary<string, string?>(Environment);
            foreach ((string name, string value) in locale)
            {
                environment[name] = value;
            }

            CliResult run = await CliRunner.RunAsync(["search", "ein Hund am Strand", "--model", nllb, "--collection", "nllb", "--all", "--json"], environment);
            Assert.True(run.ExitCode == 0, run.StdErr);
            return run;
        }

        JsonElement[] Hits(CliResult run) => [.. JsonDocument.Parse(run.StdOut).RootElement.GetProperty("results").EnumerateArray()];
        AssertScoresEqualReference(Hits(await InLocale(("LANG", "de_DE.UTF-8"))), german, images);
        AssertScoresEqualReference(Hits(await InLocale(("LANG", "fr_FR.UTF-8"), ("LC_MESSAGES", "de_AT.UTF-8@euro"))), german, images);
        AssertScoresEqualReference(Hits(await InLocale(("LANG", "de_DE.UTF-8"), ("LC_ALL", "C"))), english, images);
        AssertScoresEqualReference(Hits(await InLocale(("LANG", "POSIX"))), english, images);
        CliResult unknownLocale = await InLocale(("LANG", "xx_YY.UTF-8"));
        AssertScoresEqualReference(Hits(unknownLocale), english, images);
        Assert.Contains("LANG=xx_YY.UTF-8", unknownLocale.StdErr);
        Assert.Single(unknownLocale.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("locale", StringComparison.Ordinal));
        // OMNIVEC_LANGUAGE and --language win over the locale.
        AssertScoresEqualReference(Hits(await InLocale(("LANG", "xx_YY.UTF-8"), ("OMNIVEC_LANGUAGE", "de"))), german, images);

        CliResult unknown = await CliRunner.RunAsync(["search", "ein Hund am Strand", "--model", nllb, "--collection", "nllb", "--language", "xx"], Environment);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("Language 'xx' is not one this model knows", unknown.StdErr);
        Assert.Contains("deu_Latn", unknown.StdErr);
        Assert.Empty(unknown.StdOut);
    }
}
