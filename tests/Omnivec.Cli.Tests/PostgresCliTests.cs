using System.Text.Json;
using Omnivec.Index.Postgres.Tests;

namespace Omnivec.Cli.Tests;

/// <summary>
/// The CLI on PostgreSQL (PGlite with the real pgvector, started by the test): the same folder indexed into the
/// embedded store and into PostgreSQL answers every query the same way.
/// </summary>
public sealed class PostgresCliTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-cli-pg-").FullName;
    private readonly PgliteServer _postgres = new();

    private string Embedded => Path.Combine(_temp, "store");

    private string CopyPhotos(string name, params string[] photos)
    {
        string folder = Directory.CreateDirectory(Path.Combine(_temp, name)).FullName;
        foreach (string photo in photos)
        {
            File.Copy(CliRunner.Photo(photo), Path.Combine(folder, photo));
        }

        return folder;
    }

    private static async Task<JsonElement> Json(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);
        Assert.True(result.ExitCode == 0, $"omnivec {string.Join(' ', args)}: {result.StdErr}");
        return JsonDocument.Parse(result.StdOut).RootElement.Clone();
    }

    private static void AssertSameResults(JsonElement expected, JsonElement actual)
    {
        JsonElement e = expected.GetProperty("results"), a = actual.GetProperty("results");
        Assert.Equal(e.GetArrayLength(), a.GetArrayLength());
        Assert.True(e.GetArrayLength() > 0);
        for (int i = 0; i < e.GetArrayLength(); i++)
        {
            Assert.Equal(e[i].GetProperty("path").GetString(), a[i].GetProperty("path").GetString());
            Assert.Equal(e[i].GetProperty("score").GetDouble(), a[i].GetProperty("score").GetDouble(), 4);
            Assert.Equal(e[i].GetProperty("width").GetInt32(), a[i].GetProperty("width").GetInt32());
        }
    }

    [Fact]
    public async Task Index_and_search_on_postgresql_give_the_same_results_as_the_embedded_store()
    {
        string folder = CopyPhotos("pics", "bananas.jpg", "two_beagles.jpg", "hotdog.jpg", "tomatoes.jpg", "white_mug.jpg", "cat_chelsea.png");
        File.Copy(CliRunner.Photo("bananas.jpg"), Path.Combine(folder, "bananas copy.jpg"));
        File.WriteAllBytes(Path.Combine(folder, "broken.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]);
        string pg = _postgres.Uri;

        foreach (string store in new[] { Embedded, pg })
        {
            CliResult index = await CliRunner.RunAsync(["index", folder, "--model", CliRunner.ModelHf, "--store", store, "--collection", "pics", "--batch-size", "3"]);
            Assert.True(index.ExitCode == 0, index.StdErr);
            Assert.Contains("7 added", index.StdOut);
            Assert.Contains("1 failed", index.StdOut);
            Assert.Contains("broken.jpg", index.StdErr);
            Assert.DoesNotContain(PgliteServer.Password, index.StdOut + index.StdErr, StringComparison.Ordinal);
        }

        foreach (string text in new[] { "a photo of bananas", "two dogs", "food on a plate", "a cup" })
        {
            AssertSameResults(
                await Json("search", text, "--store", Embedded, "--collection", "pics", "--json", "--top", "5"),
                await Json("search", text, "--store", pg, "--collection", "pics", "--json", "--top", "5"));
            AssertSameResults(
                await Json("search", text, "--store", Embedded, "--collection", "pics", "--json", "--top", "5", "--exact"),
                await Json("search", text, "--store", pg, "--collection", "pics", "--json", "--top", "5", "--exact"));
        }

        // By image, filtered, similar: the same.
        AssertSameResults(
            await Json("search", "--image", CliRunner.Photo("hotdog.jpg"), "--store", Embedded, "--collection", "pics", "--json"),
            await Json("search", "--image", CliRunner.Photo("hotdog.jpg"), "--store", pg, "--collection", "pics", "--json"));
        AssertSameResults(
            await Json("search", "food", "--store", Embedded, "--collection", "pics", "--json", "--min-width", "700"),
            await Json("search", "food", "--store", pg, "--collection", "pics", "--json", "--min-width", "700"));
        JsonElement similar = await Json("similar", Path.Combine(folder, "bananas.jpg"), "--store", pg, "--collection", "pics", "--json", "--top", "3");
        AssertSameResults(await Json("similar", Path.Combine(folder, "bananas.jpg"), "--store", Embedded, "--collection", "pics", "--json", "--top", "3"), similar);
        Assert.Equal(Path.Combine(folder, "bananas copy.jpg"), similar.GetProperty("results")[0].GetProperty("path").GetString());

        // Dedupe finds the copy.
        CliResult dedupe = await CliRunner.RunAsync(["dedupe", "--store", pg, "--collection", "pics", "--json"]);
        Assert.True(dedupe.ExitCode == 0, dedupe.StdErr);
        JsonElement group = JsonDocument.Parse(Assert.Single(dedupe.Lines)).RootElement;
        Assert.Equal(["bananas copy.jpg", "bananas.jpg"], group.GetProperty("members").EnumerateArray().Select(m => Path.GetFileName(m.GetProperty("path").GetString()!)).Order().ToArray());

        // Collections lists it with its model; the URI's password never shows.
        CliResult list = await CliRunner.RunAsync(["collections", "--store", pg, "--json"]);
        Assert.True(list.ExitCode == 0, list.StdErr);
        JsonElement info = Assert.Single(JsonDocument.Parse(list.StdOut).RootElement.EnumerateArray());
        Assert.Equal("pics", info.GetProperty("name").GetString());
        Assert.Equal(7, info.GetProperty("count").GetInt32());
        Assert.Equal("tiny-clip-hf", info.GetProperty("model").GetString());
        Assert.DoesNotContain(PgliteServer.Password, list.StdOut, StringComparison.Ordinal);

        // Incremental: nothing to do; then a deleted file is removed from the collection, a new one added.
        CliResult again = await CliRunner.RunAsync(["index", folder, "--store", pg, "--collection", "pics"]);
        Assert.True(again.ExitCode == 0, again.StdErr);
        Assert.Contains("0 added, 0 updated, 7 unchanged", again.StdOut);
        File.Delete(Path.Combine(folder, "bananas copy.jpg"));
        File.Copy(CliRunner.Photo("astronaut.png"), Path.Combine(folder, "astronaut.png"));
        foreach (string store in new[] { Embedded, pg })
        {
            CliResult changed = await CliRunner.RunAsync(["index", folder, "--store", store, "--collection", "pics"]);
            Assert.True(changed.ExitCode == 0, changed.StdErr);
            Assert.Contains("1 added", changed.StdOut);
            Assert.Contains("1 removed", changed.StdOut);
        }

        JsonElement after = await Json("search", "a photo of bananas", "--store", pg, "--collection", "pics", "--json", "--top", "10");
        Assert.DoesNotContain(after.GetProperty("results").EnumerateArray(), r => r.GetProperty("path").GetString()!.EndsWith("bananas copy.jpg", StringComparison.Ordinal));
        Assert.Equal(7, after.GetProperty("results").GetArrayLength());
        AssertSameResults(await Json("search", "a photo of bananas", "--store", Embedded, "--collection", "pics", "--json", "--top", "10"), after);

        // Another model into the same PostgreSQL collection is refused with the reason.
        CliResult mixed = await CliRunner.RunAsync(["index", folder, "--model", CliRunner.ModelImmich, "--store", pg, "--collection", "pics"]);
        Assert.NotEqual(0, mixed.ExitCode);
        Assert.Contains("tiny-clip-hf", mixed.StdErr);
        Assert.DoesNotContain("   at ", mixed.StdErr);
    }

    [Fact]
    public async Task Collections_copy_moves_a_collection_to_postgresql_and_back_with_identical_results()
    {
        string folder = CopyPhotos("pics", "bananas.jpg", "two_beagles.jpg", "hotdog.jpg", "tomatoes.jpg");
        CliResult index = await CliRunner.RunAsync(["index", folder, "--model", CliRunner.ModelHf, "--store", Embedded, "--collection", "pics"]);
        Assert.True(index.ExitCode == 0, index.StdErr);

        string back = Path.Combine(_temp, "back");
        CliResult there = await CliRunner.RunAsync(["collections", "copy", "pics", "--from", Embedded, "--to", _postgres.Uri]);
        Assert.True(there.ExitCode == 0, there.StdErr);
        CliResult home = await CliRunner.RunAsync(["collections", "copy", "pics", "--from", _postgres.Uri, "--to", back]);
        Assert.True(home.ExitCode == 0, home.StdErr);

        JsonElement expected = await Json("search", "a dog", "--store", Embedded, "--collection", "pics", "--json", "--exact");
        AssertSameResults(expected, await Json("search", "a dog", "--store", _postgres.Uri, "--collection", "pics", "--json", "--exact"));
        AssertSameResults(expected, await Json("search", "a dog", "--store", back, "--collection", "pics", "--json", "--exact"));
    }

    public void Dispose()
    {
        _postgres.Dispose();
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
