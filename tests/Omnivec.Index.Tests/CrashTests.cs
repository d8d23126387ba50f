using System.Diagnostics;
using System.Numerics.Tensors;
using Microsoft.Data.Sqlite;
using Omnivec.Index;
using Omnivec.Index.Storage;
using Xunit.Abstractions;

namespace Omnivec.Index.Tests;

/// <summary>The child side: upserts deterministic batches forever (or up to a count), reporting each commit on stdout.</summary>
internal static class CrashWorker
{
    public const string Verb = "crash-worker";
    public const int Dims = 32;
    public const int BatchSize = 40;

    public static EmbeddingSpace Space => new("test", "crash", "1", Dims);

    public static string PathOf(int batch, int i) => $"/b{batch:D5}/{i:D3}";

    /// <summary>The vector of item i of a batch; the same on every run, so the parent can check what it reads back.</summary>
    public static float[] VectorOf(int batch, int i) => TestData.Unit(TestData.Gaussian(new Random((batch * 1_000) + i), Dims));

    public static int Run(string[] args)
    {
        string root = args[0];
        int first = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
        int last = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        using Collection c = new CollectionStore(root).OpenOrCreate("crash", Space);
        c.ApproximateThreshold = 1; // Optimize() always builds the graph here
        for (int batch = first; batch <= last; batch++)
        {
            var items = Enumerable.Range(0, BatchSize).Select(i => new CollectionItem { Path = PathOf(batch, i), SizeBytes = batch, ModifiedUtc = DateTimeOffset.UnixEpoch }).ToList();
            var vectors = Enumerable.Range(0, BatchSize).Select(i => (ReadOnlyMemory<float>)VectorOf(batch, i)).ToList();
            c.Upsert(items, vectors);
            // The last item of the previous batch is replaced with a new vector (upsert by path) in its own transaction.
            if (batch > 0)
            {
                c.Upsert([new CollectionItem { Path = PathOf(batch - 1, BatchSize - 1), SizeBytes = -batch }], [VectorOf(batch + 500_000, 0)]);
            }

            Console.Out.WriteLine($"committed {batch}");
            Console.Out.Flush();
            if (batch % 4 == 3)
            {
                c.Search(VectorOf(batch, 0), 5, mode: SearchMode.Exact);
                c.Optimize(); // snapshot + graph files for this generation; the next batches make them stale
            }
        }

        return 0;
    }
}

[Collection(HeavyTests.Name)]
public sealed class CrashTests : IDisposable
{
    private readonly TempRoot _root = new();
    private readonly ITestOutputHelper _output;

    public CrashTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Killing_a_writer_at_random_points_never_loses_a_committed_batch_nor_corrupts_the_store()
    {
        var random = new Random(1234);
        var committed = new SortedSet<int>();
        int kills = 0, staleSnapshots = 0, staleGraphs = 0;
        var clock = Stopwatch.StartNew();
        int next = 0;
        for (int round = 0; round < 24; round++)
        {
            (Process child, List<int> reported) = Start(next, int.MaxValue);
            if (round < 3)
            {
                // Early rounds may hit start-up and collection creation.
                Thread.Sleep(random.Next(50, 400));
            }
            else
            {
                // Then let the child commit at least once (start-up time varies with machine load), and kill it at a random point after.
                var wait = Stopwatch.StartNew();
                while (wait.Elapsed < TimeSpan.FromSeconds(30) && !child.HasExited && CountOf(reported) == 0)
                {
                    Thread.Sleep(5);
                }

                Thread.Sleep(random.Next(0, 300));
            }

            child.Kill(entireProcessTree: true);
            child.WaitForExit();
            kills++;
            lock (reported)
            {
                committed.UnionWith(reported);
            }

            (bool snapshotStale, bool graphStale) = Verify(committed);
            staleSnapshots += snapshotStale ? 1 : 0;
            staleGraphs += graphStale ? 1 : 0;
            next = committed.Count > 0 ? committed.Max + 1 : 0;
        }

        // A final uninterrupted run completes.
        (Process last, List<int> lastReported) = Start(next, next + 5);
        Assert.True(last.WaitForExit(60_000), "final run did not finish");
        last.WaitForExit();
        Assert.Equal(0, last.ExitCode);
        committed.UnionWith(lastReported);
        Assert.Equal(Enumerable.Range(next, 6), lastReported);
        Verify(committed);

        _output.WriteLine($"{kills} kills, {committed.Count} batches committed, stale snapshot detected {staleSnapshots}x, stale graph {staleGraphs}x, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(committed.Count >= 20, $"only {committed.Count} batches were committed; the kills came too early to test anything");
        Assert.True(staleSnapshots > 0, "no kill left a stale snapshot: the staleness check was never exercised");
    }

    private (Process Child, List<int> Reported) Start(int first, int last)
    {
        string dll = typeof(CrashWorker).Assembly.Location;
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["exec", dll, CrashWorker.Verb, _root.Path, first.ToString(System.Globalization.CultureInfo.InvariantCulture), last.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            info.ArgumentList.Add(arg);
        }

        var reported = new List<int>();
        var child = new Process { StartInfo = info };
        child.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith("committed ", StringComparison.Ordinal))
            {
                lock (reported)
                {
                    reported.Add(int.Parse(line["committed ".Length..], System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        };
        child.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                _output.WriteLine("child stderr: " + e.Data);
            }
        };
        child.Start();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        return (child, reported);
    }

    /// <summary>Reopens the store and checks every reported batch, integrity, and that out-of-date files are not trusted.</summary>
    private (bool SnapshotStale, bool GraphStale) Verify(SortedSet<int> committed)
    {
        string dir = Path.Combine(_root.Path, "crash");
        string db = Path.Combine(dir, CollectionDb.FileName);
        if (!File.Exists(db))
        {
            Assert.Empty(committed);
            return (false, false);
        }

        using (var connection = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            connection.Open();
            using SqliteCommand check = connection.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", check.ExecuteScalar());
            check.CommandText = "PRAGMA foreign_key_check";
            using (SqliteDataReader r = check.ExecuteReader())
            {
                Assert.False(r.Read(), "foreign key violations");
            }

            check.CommandText = "SELECT (SELECT count(*) FROM items) - (SELECT count(*) FROM vectors)";
            Assert.Equal(0L, check.ExecuteScalar()); // never an item without its vector or the reverse
        }

        long generation = ReadGeneration(db);
        long? snapshotGeneration = FileGeneration(Path.Combine(dir, Collection.SnapshotFileName));
        long? graphGeneration = FileGeneration(Path.Combine(dir, Collection.HnswFileName));
        bool snapshotStale = snapshotGeneration is { } sg && sg != generation;
        bool graphStale = graphGeneration is { } hg && hg != generation;

        using Collection c = new CollectionStore(_root.Path).Open("crash");
        foreach (int batch in committed)
        {
            for (int i = 0; i < CrashWorker.BatchSize; i++)
            {
                CollectionItem item = c.FindByPath(CrashWorker.PathOf(batch, i)) ?? throw new Xunit.Sdk.XunitException($"batch {batch} item {i} lost");
                float[] stored = c.GetVector(item.Id)!;
                // The last item may have been replaced by the next batch's run (its own transaction).
                float[] expected = item.SizeBytes < 0 ? CrashWorker.VectorOf(-(int)item.SizeBytes + 500_000, 0) : CrashWorker.VectorOf(batch, i);
                Assert.True(TensorPrimitives.Dot(stored, expected) > 0.99999f, $"batch {batch} item {i} has a wrong vector");
            }
        }

        int probe = committed.Count > 0 ? committed.Max : 0;
        if (committed.Count > 0)
        {
            IReadOnlyList<SearchHit> exact = c.Search(CrashWorker.VectorOf(probe, 3), 1, mode: SearchMode.Exact);
            Assert.Equal(CrashWorker.PathOf(probe, 3), exact[0].Item.Path);
            // A file from before the kill whose generation lags the database is never used; a current one is.
            Assert.Equal(snapshotGeneration == generation ? LoadSource.Snapshot : LoadSource.Rebuilt, c.MatrixSource);
            IReadOnlyList<SearchHit> approx = c.Search(CrashWorker.VectorOf(probe, 3), 1, mode: SearchMode.Approximate);
            Assert.Equal(CrashWorker.PathOf(probe, 3), approx[0].Item.Path);
            Assert.Equal(graphGeneration == generation ? LoadSource.Snapshot : LoadSource.Rebuilt, c.HnswSource);
        }

        return (snapshotStale, graphStale);
    }

    private static int CountOf(List<int> reported)
    {
        lock (reported)
        {
            return reported.Count;
        }
    }

    private static long ReadGeneration(string db)
    {
        using var connection = new SqliteConnection($"Data Source={db};Pooling=False");
        connection.Open();
        return CollectionDb.ReadGeneration(connection);
    }

    private static long? FileGeneration(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        using var stream = File.OpenRead(path);
        var header = new byte[SnapshotHeader.Size];
        return stream.Read(header) == header.Length ? BitConverter.ToInt64(header, 24) : null;
    }
}
