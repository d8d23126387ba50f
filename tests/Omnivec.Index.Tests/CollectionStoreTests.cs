using Microsoft.Data.Sqlite;
using Omnivec.Index;

namespace Omnivec.Index.Tests;

public sealed class CollectionStoreTests : IDisposable
{
    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    private static float[] Vec(int seed, int dims = 64) => TestData.Unit(TestData.Gaussian(new Random(seed), dims));

    [Fact]
    public void Items_round_trip_with_every_field()
    {
        CollectionStore store = _root.Store();
        var item = new CollectionItem
        {
            Path = "/a/b/c.jpg",
            MediaType = "image/jpeg",
            SizeBytes = 123_456,
            ModifiedUtc = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1234567),
            ContentHash = "abc123",
            Width = 4000,
            Height = 3000,
            TakenAt = new DateTimeOffset(2024, 5, 6, 9, 8, 9, TimeSpan.FromHours(2)),
            Camera = "Canon",
            Caption = "a dog",
            Extra = new Dictionary<string, string> { ["lens"] = "50mm", ["ünïcode"] = "\"quoted\"" },
        };
        float[] raw = [.. Vec(1).Select(x => x * 3f)]; // not unit: the store normalises
        long id;
        using (Collection c = store.OpenOrCreate("photos", TestData.Space()))
        {
            id = c.Upsert([item], [raw])[0];
            Assert.Equal(1, c.Count);
        }

        using (Collection c = store.Open("photos"))
        {
            CollectionItem back = c.Get(id)!;
            Assert.Equal(item with { Id = id, Extra = back.Extra }, back);
            Assert.Equal(TimeSpan.FromHours(2), back.TakenAt!.Value.Offset);
            Assert.Equal(item.Extra, back.Extra);
            Assert.Equal(back, c.FindByPath("/a/b/c.jpg")! with { Extra = back.Extra });
            float[] vector = c.GetVector(id)!;
            Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.Norm(vector), 4);
            Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(vector, raw), 4);
            Assert.Null(c.Get(id + 100));
            Assert.Null(c.GetVector(id + 100));
            Assert.Null(c.FindByPath("/nope"));
            Assert.Equal(TestData.Space(), c.Space);
        }
    }

    [Fact]
    public void Upsert_replaces_by_path_keeping_the_id()
    {
        using Collection c = _root.Store().OpenOrCreate("c", TestData.Space());
        long id1 = c.Upsert([TestData.Item(1)], [Vec(1)])[0];
        long id2 = c.Upsert([TestData.Item(1) with { SizeBytes = 9, ContentHash = "new" }], [Vec(2)])[0];
        Assert.Equal(id1, id2);
        Assert.Equal(1, c.Count);
        Assert.Equal("new", c.Get(id1)!.ContentHash);
        Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.Dot(c.GetVector(id1)!, Vec(2)), 4);
        // The in-memory matrix sees the replacement too.
        IReadOnlyList<SearchHit> hits = c.Search(Vec(2), 1, mode: SearchMode.Exact);
        Assert.Equal(id1, hits[0].Item.Id);
        Assert.Equal(1f, hits[0].Score, 4);
    }

    [Fact]
    public void Delete_and_DeleteByPaths_remove_items_and_their_vectors_from_search()
    {
        using Collection c = _root.Store().OpenOrCreate("c", TestData.Space());
        long[] ids = TestData.Fill(c, [.. Enumerable.Range(0, 10).Select(i => TestData.Item(i))], [.. Enumerable.Range(0, 10).Select(i => Vec(i))]);
        Assert.Equal(10, c.Search(Vec(0), 100, mode: SearchMode.Exact).Count); // loads the matrix first
        Assert.True(c.Delete(ids[0]));
        Assert.False(c.Delete(ids[0]));
        Assert.Equal(2, c.DeleteByPaths([TestData.Item(1).Path, TestData.Item(2).Path, "/missing"]));
        Assert.Equal(0, c.DeleteByPaths([]));
        Assert.Equal(7, c.Count);
        Assert.Null(c.GetVector(ids[1]));
        IReadOnlyList<SearchHit> hits = c.Search(Vec(0), 100, mode: SearchMode.Exact);
        Assert.Equal(7, hits.Count);
        Assert.DoesNotContain(hits, h => h.Item.Id == ids[0] || h.Item.Id == ids[1] || h.Item.Id == ids[2]);
    }

    [Fact]
    public void Items_streams_in_path_order_and_filters_by_prefix_exactly()
    {
        using Collection c = _root.Store().OpenOrCreate("c", TestData.Space());
        string[] paths = ["/p/a/1.jpg", "/p/a/2.jpg", "/p/ab/3.jpg", "/p/b/4.jpg", "/p/a", "/q/5.jpg", "/p/a/ü.jpg"];
        c.Upsert([.. paths.Select(p => new CollectionItem { Path = p, SizeBytes = p.Length, ModifiedUtc = DateTimeOffset.UnixEpoch, ContentHash = "h" + p })],
            [.. paths.Select((_, i) => (ReadOnlyMemory<float>)Vec(i))]);
        Assert.Equal(paths.Order(StringComparer.Ordinal), c.Items().Select(i => i.Path));
        Assert.Equal(["/p/a/1.jpg", "/p/a/2.jpg", "/p/a/ü.jpg"], c.Items("/p/a/").Select(i => i.Path));
        Assert.Equal(["/p/a", "/p/a/1.jpg", "/p/a/2.jpg", "/p/a/ü.jpg", "/p/ab/3.jpg"], c.Items("/p/a").Select(i => i.Path));
        Assert.Empty(c.Items("/zzz"));
        CollectionItem first = c.Items("/q/").Single();
        Assert.Equal(("h/q/5.jpg", 8L, DateTimeOffset.UnixEpoch), (first.ContentHash, first.SizeBytes, first.ModifiedUtc));
    }

    [Theory]
    [InlineData("other", "clustered", "r1", 64, "other:clustered@r1")]
    [InlineData("test", "another-model", "r1", 64, "another-model")]
    [InlineData("test", "clustered", "r2", 64, "@r2")]
    [InlineData("test", "clustered", "r1", 32, "(32-d)")]
    public void Opening_with_another_space_is_refused_naming_both(string provider, string model, string revision, int dims, string mentioned)
    {
        CollectionStore store = _root.Store();
        store.OpenOrCreate("c", TestData.Space()).Dispose();
        var other = new EmbeddingSpace(provider, model, revision, dims);
        EmbeddingSpaceMismatchException e = Assert.Throws<EmbeddingSpaceMismatchException>(() => store.OpenOrCreate("c", other));
        Assert.Contains(mentioned, e.Message, StringComparison.Ordinal);
        Assert.Contains(TestData.Space().ToString(), e.Message, StringComparison.Ordinal);
        Assert.Equal(TestData.Space(), e.Expected);
        Assert.Equal(other, e.Actual);
        // The refused open did not hold the collection: a compatible open works.
        using Collection ok = store.OpenOrCreate("c", TestData.Space() with { Modalities = Modalities.Image | Modalities.Text });
        Assert.Equal(0, ok.Count);
    }

    [Fact]
    public void Missing_collection_and_bad_names_are_typed_errors()
    {
        CollectionStore store = _root.Store();
        Assert.Throws<CollectionNotFoundException>(() => store.Open("nope"));
        Assert.Throws<InvalidInputException>(() => store.Open("../etc"));
        Assert.Throws<InvalidInputException>(() => store.OpenOrCreate(".hidden", TestData.Space()));
        Assert.Throws<InvalidInputException>(() => store.OpenOrCreate("a/b", TestData.Space()));
        Assert.False(store.Delete("nope"));
    }

    [Fact]
    public void List_reports_collections_and_Delete_removes_them()
    {
        CollectionStore store = _root.Store();
        Assert.Empty(store.List());
        using (Collection a = store.OpenOrCreate("alpha", TestData.Space()))
        {
            a.Upsert([TestData.Item(1), TestData.Item(2)], [Vec(1), Vec(2)]);
        }

        store.OpenOrCreate("beta", TestData.Space(32)).Dispose();
        Directory.CreateDirectory(Path.Combine(_root.Path, "not-a-collection"));
        IReadOnlyList<CollectionInfo> list = store.List();
        Assert.Equal(["alpha", "beta"], list.Select(i => i.Name));
        Assert.Equal(2, list[0].Count);
        Assert.Equal(32, list[1].Space.Dimensions);
        Assert.True(list[0].BytesOnDisk > 0);
        Assert.True(list[0].UpdatedUtc >= list[0].CreatedUtc);
        Assert.True(store.Delete("alpha"));
        Assert.Equal(["beta"], store.List().Select(i => i.Name));
        Assert.Throws<CollectionNotFoundException>(() => store.Open("alpha"));
    }

    [Fact]
    public void A_second_writer_gets_a_clear_busy_error_and_readers_still_work()
    {
        CollectionStore store = _root.Store();
        using Collection writer = store.OpenOrCreate("c", TestData.Space());
        writer.Upsert([TestData.Item(1)], [Vec(1)]);
        using Collection second = store.Open("c");
        Assert.Equal(1, second.Count); // reading is fine
        Assert.Single(second.Search(Vec(1), 5));
        CollectionBusyException e = Assert.Throws<CollectionBusyException>(() => second.Upsert([TestData.Item(2)], [Vec(2)]));
        Assert.Contains("another process", e.Message, StringComparison.Ordinal);
        Assert.Throws<CollectionBusyException>(() => store.Delete("c"));
        // The reader sees the writer's later commits (generation check on every search).
        writer.Upsert([TestData.Item(3)], [Vec(3)]);
        Assert.Equal(2, second.Search(Vec(1), 5).Count);
    }

    [Fact]
    public void Bad_vectors_and_arguments_are_rejected_before_anything_is_written()
    {
        using Collection c = _root.Store().OpenOrCreate("c", TestData.Space());
        Assert.Throws<InvalidInputException>(() => c.Upsert([TestData.Item(1)], [new float[63]]));
        float[] nan = Vec(1);
        nan[5] = float.NaN;
        Assert.Contains("NaN", Assert.Throws<InvalidInputException>(() => c.Upsert([TestData.Item(1)], [nan])).Message, StringComparison.Ordinal);
        float[] inf = Vec(1);
        inf[0] = float.PositiveInfinity;
        Assert.Throws<InvalidInputException>(() => c.Upsert([TestData.Item(1)], [inf]));
        Assert.Contains("zeros", Assert.Throws<InvalidInputException>(() => c.Upsert([TestData.Item(1)], [new float[64]])).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidInputException>(() => c.Upsert([TestData.Item(1), TestData.Item(1)], [Vec(1), Vec(2)]));
        Assert.Throws<InvalidInputException>(() => c.Upsert([TestData.Item(1)], [Vec(1), Vec(2)]));
        Assert.Throws<InvalidInputException>(() => c.Upsert([TestData.Item(1), TestData.Item(2) with { Path = "" }], [Vec(1), Vec(2)]));
        Assert.Equal(0, c.Count);

        c.Upsert([TestData.Item(1)], [Vec(1)]);
        Assert.Throws<InvalidInputException>(() => c.Search(new float[10], 5));
        Assert.Throws<InvalidInputException>(() => c.Search(new float[64], 5));
        Assert.Throws<InvalidInputException>(() => c.Search(Vec(1), 0));
        Assert.Throws<InvalidInputException>(() => c.Search(Vec(1), 10_001));
        Assert.Single(c.Search(Vec(1), 10_000));
        Assert.Throws<InvalidInputException>(() => c.FindDuplicates(0f));
    }

    [Fact]
    public void An_empty_collection_searches_to_nothing_in_every_mode()
    {
        using Collection c = _root.Store().OpenOrCreate("c", TestData.Space());
        foreach (SearchMode mode in Enum.GetValues<SearchMode>())
        {
            Assert.Empty(c.Search(Vec(1), 10, mode: mode));
        }

        Assert.Empty(c.FindDuplicates());
        Assert.Empty(c.Items());
    }

    [Fact]
    public async Task Searches_during_upserts_see_whole_batches_only()
    {
        using Collection c = _root.Store().OpenOrCreate("c", TestData.Space());
        c.Upsert([TestData.Item(0)], [Vec(0)]);
        const int Batches = 40, BatchSize = 25;
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var done = new ManualResetEventSlim();
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            while (!done.IsSet)
            {
                IReadOnlyList<SearchHit> hits = c.Search(Vec(r), 10_000, mode: r == 0 ? SearchMode.Approximate : SearchMode.Exact);
                // Every batch is one transaction: a search sees 1 + k*BatchSize items, never a partial batch.
                if ((hits.Count - 1) % BatchSize != 0)
                {
                    errors.Add($"saw {hits.Count} items");
                }

                if (hits.Select(h => h.Item.Id).Distinct().Count() != hits.Count)
                {
                    errors.Add("duplicate ids");
                }
            }
        })).ToArray();
        for (int b = 0; b < Batches; b++)
        {
            int first = 1 + (b * BatchSize);
            c.Upsert([.. Enumerable.Range(first, BatchSize).Select(i => TestData.Item(i))], [.. Enumerable.Range(first, BatchSize).Select(i => (ReadOnlyMemory<float>)Vec(i))]);
        }

        done.Set();
        await Task.WhenAll(readers);
        Assert.Empty(errors);
        Assert.Equal(1 + (Batches * BatchSize), c.Search(Vec(0), 10_000, mode: SearchMode.Approximate).Count);
    }

    [Fact]
    public void Index_state_persists()
    {
        CollectionStore store = _root.Store();
        using (Collection c = store.OpenOrCreate("c", TestData.Space()))
        {
            Assert.Null(c.GetIndexState("cursor"));
            c.SetIndexState("cursor", "a");
            c.SetIndexState("cursor", "b");
        }

        using Collection again = store.Open("c");
        Assert.Equal("b", again.GetIndexState("cursor"));
    }

    [Fact]
    public void Database_uses_wal_full_sync_and_a_versioned_meta_table()
    {
        CollectionStore store = _root.Store();
        store.OpenOrCreate("c", TestData.Space()).Dispose();
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_root.Path, "c", "collection.db")};Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
        command.CommandText = "SELECT value FROM meta WHERE key = 'schema_version'";
        Assert.Equal("1", command.ExecuteScalar());
        command.CommandText = "SELECT value FROM meta WHERE key = 'dimensions'";
        Assert.Equal("64", command.ExecuteScalar());
    }

    [Fact]
    public void A_collection_made_before_the_lexical_index_gets_it_on_open_and_after_an_older_writer()
    {
        CollectionStore store = _root.Store();
        using (Collection c = store.OpenOrCreate("c", TestData.Space()))
        {
            c.Upsert([new CollectionItem { Path = "/p/IMG_0042.jpg", Camera = "Canon EOS R5" }, new CollectionItem { Path = "/p/other.jpg" }], [Vec(1), Vec(2)]);
        }

        string db = Path.Combine(_root.Path, "c", "collection.db");
        void Sql(string sql)
        {
            using var connection = new SqliteConnection($"Data Source={db};Pooling=False");
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

        // As a collection of the previous version: no FTS table, no lexical generation.
        Sql("DROP TABLE items_fts; DELETE FROM meta WHERE key = 'lexical_generation';");
        using (Collection c = store.Open("c"))
        {
            Assert.Equal("/p/IMG_0042.jpg", Assert.Single(c.SearchText("img_0042")).Item.Path);
            Assert.Equal("/p/IMG_0042.jpg", Assert.Single(c.SearchText("canon")).Item.Path);
        }

        // An older Omnivec wrote (moving the generation, not the lexical index): the next open rebuilds it.
        Sql("UPDATE items SET camera = 'Leica Q2' WHERE path = '/p/other.jpg'; UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';");
        using (Collection c = store.Open("c"))
        {
            Assert.Equal("/p/other.jpg", Assert.Single(c.SearchText("leica")).Item.Path);
            c.Upsert([new CollectionItem { Path = "/p/new DSC_7.jpg" }], [Vec(3)]);
            Assert.Equal("/p/new DSC_7.jpg", Assert.Single(c.SearchText("dsc_7")).Item.Path);
        }
    }

    [Fact]
    public void Default_root_honours_OMNIVEC_HOME()
    {
        // Only reads the variable; the test does not set process-wide state.
        string? home = Environment.GetEnvironmentVariable("OMNIVEC_HOME");
        string expectedBase = string.IsNullOrWhiteSpace(home)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "omnivec")
            : home;
        Assert.Equal(Path.Combine(expectedBase, "collections"), CollectionStore.DefaultRoot);
    }
}
