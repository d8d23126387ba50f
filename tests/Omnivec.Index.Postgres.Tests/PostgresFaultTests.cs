using System.Diagnostics;
using System.Numerics.Tensors;
using Omnivec.Index;

namespace Omnivec.Index.Postgres.Tests;

/// <summary>
/// The database going away under a store in use: PGlite killed with SIGKILL (no clean shutdown) and started again on
/// its data directory (crash recovery). Writes and searches in flight are retried until it is back, or end in a
/// <see cref="PostgresStoreException"/> once the retries are spent: never a hang, never a raw driver exception, and
/// nothing committed is lost. (Not run against OMNIVEC_TEST_POSTGRES: the tests cannot restart someone's server.)
/// </summary>
public sealed class PostgresFaultTests(PgliteServer server) : IClassFixture<PgliteServer>
{
    private const int Dims = 16;
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(5);

    private static EmbeddingSpace Space => new("test", "faults", "r1", Dims);

    private static float[][] Vectors(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var v = new float[Dims];
            for (int d = 0; d < Dims; d++)
            {
                v[d] = (float)(random.NextDouble() * 2 - 1);
            }

            TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
            return v;
        }).ToArray();
    }

    private static List<CollectionItem> Items(int from, int count) =>
        Enumerable.Range(from, count).Select(i => new CollectionItem { Path = $"/f/{i:D4}.jpg", SizeBytes = i }).ToList();

    [Fact]
    public async Task Writes_and_searches_across_a_database_kill_and_restart_are_retried_and_nothing_is_lost_or_doubled()
    {
        if (server.IsExternal)
        {
            return;
        }

        // Retries that outlast a PGlite restart on a busy machine (the defaults wait about half a minute).
        using var store = new PostgresStore(server.Uri, new PostgresStoreOptions { MaxRetries = 40, RetryDelay = TimeSpan.FromMilliseconds(100), MaxRetryDelay = TimeSpan.FromSeconds(2) });
        using IVectorCollection collection = store.OpenOrCreate("restarted", Space);
        float[][] vectors = Vectors(300, 3);
        collection.Upsert(Items(0, 10), vectors.Take(10).Select(v => (ReadOnlyMemory<float>)v).ToList());
        int committed = 10, searches = 0;
        using var done = new CancellationTokenSource();
        Task writer = Task.Run(() =>
        {
            for (int start = 10; start < vectors.Length; start += 10)
            {
                collection.Upsert(Items(start, 10), vectors.Skip(start).Take(10).Select(v => (ReadOnlyMemory<float>)v).ToList());
                Interlocked.Add(ref committed, 10);
            }
        });
        Task searcher = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                IReadOnlyList<SearchHit> hits = collection.Search(vectors[0], 3, mode: SearchMode.Exact);
                Assert.Equal("/f/0000.jpg", hits[0].Item.Path);
                Interlocked.Increment(ref searches);
            }
        });

        var guard = Stopwatch.StartNew();
        while (Volatile.Read(ref committed) < 30 && !writer.IsCompleted)
        {
            Assert.True(guard.Elapsed < HangGuard, "nothing was committed");
            await Task.Delay(20);
        }

        Assert.False(writer.IsCompleted, "the writes ended before the database could be killed");
        server.Kill();
        int searchesWhileDown = Volatile.Read(ref searches);
        await Task.Delay(500);
        server.Start();

        await writer.WaitAsync(HangGuard);
        done.Cancel();
        await searcher.WaitAsync(HangGuard);
        Assert.True(searches > searchesWhileDown, "no search succeeded after the restart");

        Assert.Equal(vectors.Length, collection.Count);
        List<(CollectionItem Item, float[] Vector)> rows = collection.ItemsWithVectors().ToList();
        Assert.Equal(vectors.Length, rows.Select(r => r.Item.Path).Distinct(StringComparer.Ordinal).Count());
        foreach ((CollectionItem item, float[] vector) in rows)
        {
            int i = int.Parse(item.Path[3..7], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(1.0f, TensorPrimitives.Dot(vector, vectors[i]), 4);
        }
    }

    [Fact]
    public void A_database_that_stays_down_is_a_typed_error_once_the_retries_are_spent_and_the_store_recovers_when_it_is_back()
    {
        if (server.IsExternal)
        {
            return;
        }

        using var store = new PostgresStore(server.Uri, new PostgresStoreOptions { MaxRetries = 2, RetryDelay = TimeSpan.FromMilliseconds(50) });
        using IVectorCollection collection = store.OpenOrCreate("down", Space);
        float[][] vectors = Vectors(2, 5);
        collection.Upsert(Items(0, 1), [vectors[0]]);
        server.Kill();
        try
        {
            PostgresStoreException write = Assert.Throws<PostgresStoreException>(() => collection.Upsert(Items(1, 1), [vectors[1]]));
            Assert.Contains("not reachable (tried 3 times)", write.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(PgliteServer.Password, write.Message, StringComparison.Ordinal);
            PostgresStoreException search = Assert.Throws<PostgresStoreException>(() => collection.Search(vectors[0], 1));
            Assert.Contains("127.0.0.1", search.Message, StringComparison.Ordinal);
            Assert.Throws<PostgresStoreException>(() => store.List());
        }
        finally
        {
            server.Start();
        }

        // The same store (and its pool) works again: the write that failed was not committed, the first one was.
        Assert.Equal(1, collection.Count);
        collection.Upsert(Items(1, 1), [vectors[1]]);
        Assert.Equal(["/f/0000.jpg", "/f/0001.jpg"], collection.Items().Select(i => i.Path));
    }
}

/// <summary>The PGlite fixture itself: nothing of it stays in the temp folder, no node process outlives it.</summary>
public sealed class PgliteFixtureTests
{
    [Fact]
    public void A_disposed_server_leaves_no_data_directory_and_no_process_and_the_template_is_not_in_the_temp_folder()
    {
        var server = new PgliteServer();
        if (server.IsExternal)
        {
            server.Dispose();
            return;
        }

        string data = server.DataDirectory!;
        int pid = server.ProcessId!.Value;
        Assert.True(File.Exists(Path.Combine(data, "PG_VERSION")));
        string temp = Path.GetFullPath(Path.GetTempPath());
        // The template lives beside the PGlite install (the clone itself may be anywhere, /tmp included), never loose in the temp folder.
        string template = Path.GetFullPath(PgliteServer.TemplateDirectory);
        Assert.NotEqual(Path.TrimEndingDirectorySeparator(temp), Path.GetDirectoryName(template));
        Assert.Contains(Path.Combine("tools", "pglite", "node_modules"), template, StringComparison.Ordinal);
        string ours = $"omnivec-pglite-template-{Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)}-";
        Assert.DoesNotContain(Directory.EnumerateDirectories(temp, "omnivec-pglite-template-*"), d => Path.GetFileName(d).StartsWith(ours, StringComparison.Ordinal));

        server.Dispose();
        Assert.False(Directory.Exists(data), data);
        Assert.False(IsRunning(pid), $"PGlite (pid {pid}) still runs");
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using Process process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
