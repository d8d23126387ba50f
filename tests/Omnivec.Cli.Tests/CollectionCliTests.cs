using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Omnivec.Index;
using Omnivec.Tests;
using Xunit.Abstractions;

namespace Omnivec.Cli.Tests;

/// <summary>The main job through the real CLI: index a folder, then search it every way.</summary>
public sealed class CollectionCliTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-cli-").FullName;

    private string Store => Path.Combine(_temp, "store");

    private string CopyPhotos(string name, params string[] photos)
    {
        string folder = Directory.CreateDirectory(Path.Combine(_temp, name)).FullName;
        foreach (string photo in photos)
        {
            File.Copy(CliRunner.Photo(photo), Path.Combine(folder, photo));
        }

        return folder;
    }

    [Fact]
    public async Task Index_then_search_similar_dedupe_classify_and_list_from_any_directory()
    {
        string folder = CopyPhotos("pics", "bananas.jpg", "two_beagles.jpg", "hotdog.jpg", "tomatoes.jpg", "white_mug.jpg");
        File.Copy(CliRunner.Photo("bananas.jpg"), Path.Combine(folder, "bananas copy.jpg"));
        File.WriteAllBytes(Path.Combine(folder, "broken.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]);

        CliResult index = await CliRunner.RunAsync(["index", folder, "--model", CliRunner.ModelHf, "--store", Store, "--collection", "pics"]);
        Assert.True(index.ExitCode == 0, index.StdErr);
        Assert.Contains("6 added", index.StdOut);
        Assert.Contains("1 failed", index.StdOut);
        Assert.Contains("broken.jpg", index.StdErr);

        // Search needs neither the folder nor --model: the collection knows its model.
        CliResult search = await CliRunner.RunAsync(["search", "a photo of bananas", "--store", Store, "--collection", "pics", "--json", "--top", "3"]);
        Assert.True(search.ExitCode == 0, search.StdErr);
        JsonElement results = JsonDocument.Parse(search.StdOut).RootElement.GetProperty("results");
        Assert.Equal(3, results.GetArrayLength());
        Assert.True(results[0].GetProperty("score").GetDouble() >= results[1].GetProperty("score").GetDouble());

        CliResult byImage = await CliRunner.RunAsync(["search", "--image", CliRunner.Photo("hotdog.jpg"), "--store", Store, "--collection", "pics", "--json"]);
        Assert.True(byImage.ExitCode == 0, byImage.StdErr);
        JsonElement first = JsonDocument.Parse(byImage.StdOut).RootElement.GetProperty("results")[0];
        Assert.Equal(Path.Combine(folder, "hotdog.jpg"), first.GetProperty("path").GetString());
        Assert.Equal(1.0, first.GetProperty("score").GetDouble(), 3);

        // --ef widens the HNSW walk; out of range is a clear error, not a stack trace.
        CliResult wide = await CliRunner.RunAsync(["search", "a photo of bananas", "--store", Store, "--collection", "pics", "--json", "--top", "3", "--ef", "500"]);
        Assert.True(wide.ExitCode == 0, wide.StdErr);
        Assert.Equal(results.ToString(), JsonDocument.Parse(wide.StdOut).RootElement.GetProperty("results").ToString());
        CliResult badEf = await CliRunner.RunAsync(["search", "a photo of bananas", "--store", Store, "--collection", "pics", "--ef", "0"]);
        Assert.NotEqual(0, badEf.ExitCode);
        Assert.Contains("between 1 and 4096", badEf.StdErr);
        Assert.DoesNotContain("   at ", badEf.StdErr);

        CliResult filtered = await CliRunner.RunAsync(["search", "food", "--store", Store, "--collection", "pics", "--json", "--min-width", "700"]);
        Assert.All(JsonDocument.Parse(filtered.StdOut).RootElement.GetProperty("results").EnumerateArray(), r => Assert.True(r.GetProperty("width").GetInt32() >= 700));

        CliResult similar = await CliRunner.RunAsync(["similar", Path.Combine(folder, "bananas.jpg"), "--store", Store, "--collection", "pics", "--json", "--top", "2"]);
        Assert.True(similar.ExitCode == 0, similar.StdErr);
        JsonElement nearest = JsonDocument.Parse(similar.StdOut).RootElement.GetProperty("results")[0];
        Assert.Equal(Path.Combine(folder, "bananas copy.jpg"), nearest.GetProperty("path").GetString());

        CliResult dedupe = await CliRunner.RunAsync(["dedupe", "--store", Store, "--collection", "pics", "--json"]);
        Assert.True(dedupe.ExitCode == 0, dedupe.StdErr);
        JsonElement group = JsonDocument.Parse(Assert.Single(dedupe.Lines)).RootElement;
        string[] members = group.GetProperty("members").EnumerateArray().Select(m => Path.GetFileName(m.GetProperty("path").GetString()!)).ToArray();
        Assert.Equal(["bananas copy.jpg", "bananas.jpg"], members.Order().ToArray());

        CliResult list = await CliRunner.RunAsync(["collections", "--store", Store, "--json"]);
        JsonElement info = Assert.Single(JsonDocument.Parse(list.StdOut).RootElement.EnumerateArray());
        Assert.Equal("pics", info.GetProperty("name").GetString());
        Assert.Equal(6, info.GetProperty("count").GetInt32());
        Assert.Equal("tiny-clip-hf", info.GetProperty("model").GetString());
        Assert.True(info.GetProperty("bytes_on_disk").GetInt64() > 0);

        CliResult classify = await CliRunner.RunAsync(["classify", CliRunner.Photo("two_beagles.jpg"), "--model", CliRunner.ModelHf, "--labels", "dog,cat,car", "--json"]);
        Assert.True(classify.ExitCode == 0, classify.StdErr);
        JsonElement labels = JsonDocument.Parse(classify.Lines[0]).RootElement.GetProperty("labels");
        Assert.Equal(3, labels.GetArrayLength());
        Assert.Equal(1.0, labels.EnumerateArray().Sum(l => l.GetProperty("probability").GetDouble()), 4);

        // A second index run is incremental.
        CliResult again = await CliRunner.RunAsync(["index", folder, "--store", Store, "--collection", "pics"]);
        Assert.True(again.ExitCode == 0, again.StdErr);
        Assert.Contains("0 added, 0 updated, 6 unchanged", again.StdOut);
    }

    [Fact]
    public async Task Searching_a_collection_that_does_not_exist_says_so()
    {
        CliResult result = await CliRunner.RunAsync(["search", "a dog", "--store", Store, "--collection", "nope"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("nope", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
    }

    [Fact]
    public async Task Killing_indexing_at_random_points_never_loses_committed_items_and_the_next_run_completes()
    {
        string photos = TestPaths.CorpusFile("images", "photos");
        var random = new Random(1234);
        int kills = 0, completedRuns = 0, round = 0;
        long lastCount = 0;
        string store = Path.Combine(Store, "round0");
        var clock = Stopwatch.StartNew();
        while (kills < 20)
        {
            ProcessStartInfo info = CliRunner.StartInfo(["index", photos, "--model", CliRunner.ModelHf, "--store", store, "--batch-size", "2"]);
            using var process = Process.Start(info)!;
            process.StandardInput.Close();
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            await Task.Delay(random.Next(400, 1800));
            if (process.HasExited)
            {
                // The run got through before the kill: it must be complete; start a fresh store to keep killing.
                Assert.Equal(0, process.ExitCode);
                using (var complete = new CollectionStore(store).Open("default"))
                {
                    Assert.Equal(TestPaths.CorpusPhotos().Length, complete.Count);
                }

                completedRuns++;
                store = Path.Combine(Store, "round" + ++round);
                lastCount = 0;
                continue;
            }

            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            kills++;

            // After every kill the store opens, is intact, and has not lost anything committed before.
            var opened = new CollectionStore(store);
            if (!opened.List().Any(c => c.Name == "default"))
            {
                Assert.Equal(0, lastCount); // killed before the collection was created
                continue;
            }

            using (var collection = opened.Open("default"))
            {
                Assert.True(collection.Count >= lastCount, $"kill {kills}: {collection.Count} items after {lastCount}");
                lastCount = collection.Count;
            }

            using var connection = new SqliteConnection($"Data Source={Path.Combine(store, "default", "collection.db")};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using SqliteCommand check = connection.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", check.ExecuteScalar() as string);
        }

        output.WriteLine($"{kills} kills and {completedRuns} uninterrupted runs in {clock.Elapsed.TotalSeconds:F0} s; {lastCount} items committed before the final run");
        CliResult final = await CliRunner.RunAsync(["index", photos, "--model", CliRunner.ModelHf, "--store", store, "--batch-size", "2"]);
        Assert.True(final.ExitCode == 0, final.StdErr);
        using var done = new CollectionStore(store).Open("default");
        Assert.Equal(TestPaths.CorpusPhotos().Length, done.Count);
        foreach (CollectionItem item in done.Items())
        {
            // Every committed vector is whole: it finds its own item at similarity 1.
            SearchHit best = done.Search(done.GetVector(item.Id)!, 1, null, SearchMode.Exact)[0];
            Assert.Equal(1.0f, best.Score, 3);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
