using System.Diagnostics;
using System.Text.RegularExpressions;
using Omnivec.Index;
using Omnivec.Index.Postgres;
using Omnivec.Index.Postgres.Tests;
using Omnivec.Tests;
using Xunit.Abstractions;

namespace Omnivec.Cli.Tests;

/// <summary>
/// One PGlite (real pgvector) for the fault tests, and the rows of an uninterrupted index run of the corpus photos
/// into it: what every interrupted, restarted or concurrent run must end with.
/// </summary>
public sealed class PostgresFaultFixture : IDisposable
{
    private Dictionary<string, (CollectionItem Item, float[] Vector)>? _reference;

    public PgliteServer Postgres { get; } = new();

    public static string Photos => TestPaths.CorpusFile("images", "photos");

    public static int PhotoCount => TestPaths.CorpusPhotos().Length;

    public static string[] IndexArgs(string uri, string collection) =>
        ["index", Photos, "--model", CliRunner.ModelHf, "--store", uri, "--collection", collection, "--batch-size", "2"];

    public async Task<Dictionary<string, (CollectionItem Item, float[] Vector)>> ReferenceAsync()
    {
        if (_reference is null)
        {
            CliResult whole = await CliRunner.RunAsync(IndexArgs(Postgres.Uri, "whole"), null, TimeSpan.FromMinutes(10));
            Assert.True(whole.ExitCode == 0, whole.StdErr);
            _reference = Rows(Postgres.Uri, "whole");
            Assert.Equal(PhotoCount, _reference.Count);
        }

        return _reference;
    }

    /// <summary>Every row of a collection (read by id, so a duplicated path would show twice), keyed by path.</summary>
    public static Dictionary<string, (CollectionItem Item, float[] Vector)> Rows(string uri, string collection)
    {
        using var store = new PostgresStore(uri);
        using IVectorCollection c = store.Open(collection);
        List<(CollectionItem Item, float[] Vector)> rows = c.ItemsWithVectors().ToList();
        string[] duplicated = rows.GroupBy(r => r.Item.Path, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.True(duplicated.Length == 0, $"'{collection}' holds these paths more than once: {string.Join(", ", duplicated)}");
        Assert.Equal(rows.Count, c.Count);
        return rows.ToDictionary(r => r.Item.Path, StringComparer.Ordinal);
    }

    public void Dispose() => Postgres.Dispose();
}

/// <summary>
/// The CLI on PostgreSQL when things go wrong, as a user would see it: the indexer killed with SIGKILL, the database
/// killed and restarted under a running index, two indexers on one collection at once. Each ends with exactly the
/// rows of an uninterrupted run (nothing lost, nothing twice) and never with a hang or an internal error.
/// </summary>
public sealed partial class PostgresFaultTests(PostgresFaultFixture fixture, ITestOutputHelper output) : IClassFixture<PostgresFaultFixture>
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(5);

    private string Uri => fixture.Postgres.Uri;

    [GeneratedRegex(@"(\d+) added, (\d+) updated, (\d+) unchanged")]
    private static partial Regex ReportPattern();

    private static (int Added, int Updated, int Unchanged) Report(CliResult result)
    {
        Match m = ReportPattern().Match(result.StdOut);
        Assert.True(m.Success, $"no report in: {result.StdOut} {result.StdErr}");
        return (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void AssertSameRows(Dictionary<string, (CollectionItem Item, float[] Vector)> expected, Dictionary<string, (CollectionItem Item, float[] Vector)> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach ((string path, (CollectionItem item, float[] vector)) in expected)
        {
            (CollectionItem other, float[] otherVector) = actual[path];
            Assert.Equal(item.ContentHash, other.ContentHash);
            Assert.Equal(item.SizeBytes, other.SizeBytes);
            Assert.Equal(item.ModifiedUtc, other.ModifiedUtc);
            Assert.Equal((item.Width, item.Height), (other.Width, other.Height));
            double dot = 0;
            for (int i = 0; i < vector.Length; i++)
            {
                dot += vector[i] * otherVector[i];
            }

            Assert.True(dot > 0.9999, $"{path}: the vector differs from the uninterrupted run's (cosine {dot})");
        }
    }

    private static Process StartIndex(string[] args)
    {
        Process process = Process.Start(CliRunner.StartInfo(args))!;
        process.StandardInput.Close();
        return process;
    }

    /// <summary>Waits until the run has committed more than <paramref name="moreThan"/> items (polling the database).</summary>
    private async Task<long> WaitForCommittedAsync(Process process, Task<string> stderr, string collection, long moreThan)
    {
        using var store = new PostgresStore(Uri);
        var guard = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                Assert.Fail($"the index run ended (exit {process.ExitCode}) before the fault could be injected: {await stderr}");
            }

            if (store.Exists(collection))
            {
                using IVectorCollection c = store.Open(collection);
                if (c.Count is var n && n > moreThan)
                {
                    return n;
                }
            }

            Assert.True(guard.Elapsed < HangGuard, "the index run committed nothing");
            await Task.Delay(50);
        }
    }

    private static async Task<CliResult> FinishAsync(Process process, Task<string> stdout, Task<string> stderr)
    {
        using var cts = new CancellationTokenSource(HangGuard);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the index run hung: {await stderr}");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task An_index_run_killed_with_sigkill_mid_way_resumes_and_ends_with_the_rows_of_an_uninterrupted_run()
    {
        Dictionary<string, (CollectionItem Item, float[] Vector)> reference = await fixture.ReferenceAsync();
        long committed = 0;
        for (int kill = 1; kill <= 2; kill++)
        {
            using Process process = StartIndex(PostgresFaultFixture.IndexArgs(Uri, "killed"));
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
            await WaitForCommittedAsync(process, stderr, "killed", committed);
            process.Kill(entireProcessTree: true); // SIGKILL: no clean-up runs in the indexer
            await process.WaitForExitAsync();
            await Task.WhenAll(stdout, stderr);

            using var store = new PostgresStore(Uri);
            using IVectorCollection c = store.Open("killed");
            long now = c.Count;
            Assert.True(now > committed && now < PostgresFaultFixture.PhotoCount, $"kill {kill}: {now} items committed (before: {committed}), not mid-way");
            committed = now;
        }

        CliResult resumed = await CliRunner.RunAsync(PostgresFaultFixture.IndexArgs(Uri, "killed"), null, TimeSpan.FromMinutes(10));
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);
        (int added, int updated, int unchanged) = Report(resumed);
        output.WriteLine($"killed twice with {committed} of {PostgresFaultFixture.PhotoCount} committed; the next run: {added} added, {updated} updated, {unchanged} unchanged");
        Assert.True(unchanged >= committed, $"the resumed run re-did committed work: {resumed.StdOut}");
        Assert.Equal(PostgresFaultFixture.PhotoCount, added + updated + unchanged);
        AssertSameRows(reference, PostgresFaultFixture.Rows(Uri, "killed"));
    }

    [Fact]
    public async Task A_database_killed_and_restarted_during_an_index_run_is_waited_for_or_reported_and_nothing_is_lost()
    {
        Dictionary<string, (CollectionItem Item, float[] Vector)> reference = await fixture.ReferenceAsync();
        using Process process = StartIndex(PostgresFaultFixture.IndexArgs(Uri, "restarted"));
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        long before = await WaitForCommittedAsync(process, stderr, "restarted", 0);
        var down = Stopwatch.StartNew();
        fixture.Postgres.Kill(); // SIGKILL of the database: open connections are cut, in-flight transactions lost
        await Task.Delay(1000);
        fixture.Postgres.Start(); // crash recovery on the same data directory and port
        output.WriteLine($"database down for {down.Elapsed.TotalSeconds:F1} s after {before} items were committed");

        CliResult run = await FinishAsync(process, stdout, stderr);
        output.WriteLine($"the interrupted run: exit {run.ExitCode}; {run.StdOut.Trim()} {run.StdErr.Trim()}");
        Assert.DoesNotContain("internal error", run.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain(PgliteServer.Password, run.StdOut + run.StdErr, StringComparison.Ordinal);
        if (run.ExitCode != 0)
        {
            // The database took longer to come back than the retries wait: a clear error naming the store.
            Assert.Equal(ExitCodes.Failure, run.ExitCode);
            Assert.Contains("PostgreSQL at postgresql://postgres:***@127.0.0.1", run.StdErr, StringComparison.Ordinal);
        }

        using (var store = new PostgresStore(Uri))
        using (IVectorCollection c = store.Open("restarted"))
        {
            Assert.True(c.Count >= before, $"{c.Count} items after the restart, {before} committed before it");
        }

        CliResult again = await CliRunner.RunAsync(PostgresFaultFixture.IndexArgs(Uri, "restarted"), null, TimeSpan.FromMinutes(10));
        Assert.True(again.ExitCode == 0, again.StdErr);
        AssertSameRows(reference, PostgresFaultFixture.Rows(Uri, "restarted"));
    }

    [Fact]
    public async Task Two_indexers_at_once_on_one_collection_end_with_every_file_exactly_once()
    {
        Dictionary<string, (CollectionItem Item, float[] Vector)> reference = await fixture.ReferenceAsync();
        CliResult[] runs = await Task.WhenAll(
            CliRunner.RunAsync(PostgresFaultFixture.IndexArgs(Uri, "twice"), null, TimeSpan.FromMinutes(10)),
            CliRunner.RunAsync(PostgresFaultFixture.IndexArgs(Uri, "twice"), null, TimeSpan.FromMinutes(10)));
        foreach (CliResult run in runs)
        {
            Assert.True(run.ExitCode == 0, run.StdErr);
            output.WriteLine(run.StdOut.Trim());
        }

        // No lock makes one wait for the other: both embed what they found missing, the unique path and the
        // idempotent upsert (INSERT … ON CONFLICT (path) DO UPDATE) keep one row per file whoever commits last.
        (int a1, int u1, int n1) = Report(runs[0]);
        (int a2, int u2, int n2) = Report(runs[1]);
        Assert.Equal(PostgresFaultFixture.PhotoCount, a1 + u1 + n1);
        Assert.Equal(PostgresFaultFixture.PhotoCount, a2 + u2 + n2);
        output.WriteLine($"items written by both runs: {a1 + u1 + a2 + u2 - PostgresFaultFixture.PhotoCount}");
        AssertSameRows(reference, PostgresFaultFixture.Rows(Uri, "twice"));
    }
}
