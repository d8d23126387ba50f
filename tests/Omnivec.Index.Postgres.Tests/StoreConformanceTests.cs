using System.Numerics.Tensors;
using Omnivec.Index;

namespace Omnivec.Index.Postgres.Tests;

/// <summary>
/// What every collection store must do, whichever engine holds it (in the manner of Microsoft.Extensions.VectorData's
/// conformance tests): each store runs this same suite through <see cref="IVectorStore"/> and <see cref="IVectorCollection"/>.
/// Expected results come from a brute-force oracle over the vectors the test wrote, never from the store itself.
/// </summary>
public abstract class StoreConformanceTests
{
    private const int Dims = 32;
    private static int s_names;

    protected abstract IVectorStore Store { get; }

    protected static EmbeddingSpace Space => new("test", "conformance", "r1", Dims);

    protected static string NewName() => $"c{Interlocked.Increment(ref s_names)}-{Guid.NewGuid():N}"[..20];

    protected static float[] RandomUnit(Random random)
    {
        var v = new float[Dims];
        for (int i = 0; i < Dims; i++)
        {
            v[i] = (float)(random.NextDouble() * 2 - 1);
        }

        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }

    protected static CollectionItem Item(string path, int i) => new()
    {
        Path = path,
        MediaType = i % 3 == 0 ? "image/png" : "image/jpeg",
        SizeBytes = 1000 + i,
        ModifiedUtc = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(i),
        ContentHash = $"hash{i}",
        Width = 100 + (i * 10),
        Height = 50 + i,
        TakenAt = i % 2 == 0 ? new DateTimeOffset(2020, 6, 1, 12, 0, 0, TimeSpan.FromHours(2)).AddDays(i) : null,
        Camera = i % 2 == 0 ? "Canon" : null,
        Caption = null,
        Extra = i % 4 == 0 ? new Dictionary<string, string> { ["k"] = $"v{i}" } : null,
    };

    /// <summary>Fills a new collection with <paramref name="count"/> items under /a/ and /b/ and returns them with their vectors.</summary>
    protected (IVectorCollection Collection, List<(CollectionItem Item, float[] Vector)> Rows) Fill(int count, int seed = 1)
    {
        IVectorCollection c = Store.OpenOrCreate(NewName(), Space);
        var random = new Random(seed);
        var rows = new List<(CollectionItem, float[])>();
        for (int i = 0; i < count; i++)
        {
            rows.Add((Item($"/{(i % 2 == 0 ? "a" : "b")}/img{i:D4}.jpg", i), RandomUnit(random)));
        }

        IReadOnlyList<long> ids = c.Upsert(rows.Select(r => r.Item1).ToList(), rows.Select(r => (ReadOnlyMemory<float>)r.Item2).ToList());
        return (c, rows.Select((r, i) => (r.Item1 with { Id = ids[i] }, r.Item2)).ToList());
    }

    private static List<string> Oracle(List<(CollectionItem Item, float[] Vector)> rows, float[] query, int top, Func<CollectionItem, bool>? filter = null) =>
        rows.Where(r => filter?.Invoke(r.Item) ?? true)
            .OrderByDescending(r => TensorPrimitives.Dot(r.Vector, query)).ThenBy(r => r.Item.Id)
            .Take(top).Select(r => r.Item.Path).ToList();

    [Fact]
    public void Upserted_items_come_back_with_their_metadata_and_vectors()
    {
        (IVectorCollection c, var rows) = Fill(12);
        using (c)
        {
            Assert.Equal(12, c.Count);
            foreach ((CollectionItem item, float[] vector) in rows)
            {
                CollectionItem got = c.Get(item.Id)!;
                Assert.Equal(item.Path, got.Path);
                Assert.Equal(item.MediaType, got.MediaType);
                Assert.Equal(item.SizeBytes, got.SizeBytes);
                Assert.Equal(item.ModifiedUtc, got.ModifiedUtc);
                Assert.Equal(item.TakenAt, got.TakenAt);
                Assert.Equal(item.TakenAt?.Offset, got.TakenAt?.Offset);
                Assert.Equal(item.Camera, got.Camera);
                Assert.Equal(item.Width, got.Width);
                Assert.Equal(item.Extra?.GetValueOrDefault("k"), got.Extra?.GetValueOrDefault("k"));
                Assert.Equal(item.Id, c.FindByPath(item.Path)!.Id);
                float[] stored = c.GetVector(item.Id)!;
                Assert.True(TensorPrimitives.Dot(stored, vector) > 0.9999f);
            }

            Assert.Null(c.Get(-5));
            Assert.Null(c.FindByPath("/nowhere"));
            Assert.Null(c.GetVector(-5));
        }
    }

    [Fact]
    public void Upserting_a_path_again_keeps_its_id_and_replaces_it()
    {
        (IVectorCollection c, var rows) = Fill(5);
        using (c)
        {
            (CollectionItem first, _) = rows[0];
            float[] other = rows[4].Vector;
            IReadOnlyList<long> ids = c.Upsert([first with { SizeBytes = 42, Camera = "Nikon" }], [other]);
            Assert.Equal(first.Id, ids[0]);
            Assert.Equal(5, c.Count);
            Assert.Equal(42, c.Get(first.Id)!.SizeBytes);
            Assert.Equal("Nikon", c.Get(first.Id)!.Camera);
            Assert.True(TensorPrimitives.Dot(c.GetVector(first.Id)!, other) > 0.9999f);
        }
    }

    [Fact]
    public void Exact_search_returns_the_true_top_k_best_first()
    {
        (IVectorCollection c, var rows) = Fill(60);
        using (c)
        {
            var random = new Random(7);
            for (int q = 0; q < 3; q++)
            {
                float[] query = RandomUnit(random);
                IReadOnlyList<SearchHit> hits = c.Search(query, 8, mode: SearchMode.Exact);
                Assert.Equal(Oracle(rows, query, 8), hits.Select(h => h.Item.Path).ToList());
                Assert.Equal(TensorPrimitives.Dot(rows.First(r => r.Item.Path == hits[0].Item.Path).Vector, query), hits[0].Score, 3);
                Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Score >= p.Second.Score));
            }

            // Batches answer like single searches.
            float[][] queries = [RandomUnit(random), RandomUnit(random)];
            IReadOnlyList<IReadOnlyList<SearchHit>> batch = c.SearchBatch(queries.Select(v => (ReadOnlyMemory<float>)v).ToList(), 5, mode: SearchMode.Exact);
            Assert.Equal(Oracle(rows, queries[1], 5), batch[1].Select(h => h.Item.Path).ToList());
        }
    }

    [Fact]
    public void Approximate_search_finds_each_item_itself_first()
    {
        (IVectorCollection c, var rows) = Fill(80);
        using (c)
        {
            foreach ((CollectionItem item, float[] vector) in rows.Take(10))
            {
                IReadOnlyList<SearchHit> hits = c.Search(vector, 5, mode: SearchMode.Approximate, expansion: 100);
                Assert.Equal(item.Path, hits[0].Item.Path);
                Assert.Equal(1f, hits[0].Score, 3);
            }
        }
    }

    [Fact]
    public void Filters_apply_before_top_k()
    {
        (IVectorCollection c, var rows) = Fill(40);
        using (c)
        {
            float[] query = RandomUnit(new Random(3));
            var cases = new (SearchFilter Filter, Func<CollectionItem, bool> Oracle)[]
            {
                (new SearchFilter { PathPrefix = "/b/" }, i => i.Path.StartsWith("/b/", StringComparison.Ordinal)),
                (new SearchFilter { MediaType = "IMAGE/PNG" }, i => i.MediaType == "image/png"),
                (new SearchFilter { MinWidth = 300, MinSizeBytes = 1025 }, i => i.Width >= 300 && i.SizeBytes >= 1025),
                (new SearchFilter { From = new DateTimeOffset(2024, 1, 10, 0, 0, 0, TimeSpan.Zero) }, i => (i.TakenAt ?? i.ModifiedUtc) >= new DateTimeOffset(2024, 1, 10, 0, 0, 0, TimeSpan.Zero)),
            };
            foreach ((SearchFilter filter, Func<CollectionItem, bool> oracle) in cases)
            {
                List<string> expected = Oracle(rows, query, 6, oracle);
                Assert.NotEmpty(expected);
                Assert.Equal(expected, c.Search(query, 6, filter, SearchMode.Exact).Select(h => h.Item.Path).ToList());
                Assert.All(c.Search(query, 6, filter, SearchMode.Approximate), h => Assert.True(oracle(h.Item), h.Item.Path));
            }
        }
    }

    [Fact]
    public void Deletes_remove_items_from_reads_and_searches()
    {
        (IVectorCollection c, var rows) = Fill(10);
        using (c)
        {
            Assert.True(c.Delete(rows[0].Item.Id));
            Assert.False(c.Delete(rows[0].Item.Id));
            Assert.Equal(2, c.DeleteByPaths([rows[1].Item.Path, rows[2].Item.Path, rows[2].Item.Path, "/missing"]));
            Assert.Equal(7, c.Count);
            Assert.Null(c.Get(rows[1].Item.Id));
            Assert.DoesNotContain(c.Search(rows[0].Vector, 10, mode: SearchMode.Exact), h => h.Item.Id == rows[0].Item.Id);
        }
    }

    [Fact]
    public void Items_stream_in_path_order_and_items_with_vectors_resume_by_id()
    {
        (IVectorCollection c, var rows) = Fill(15);
        using (c)
        {
            List<string> all = c.Items().Select(i => i.Path).ToList();
            Assert.Equal(rows.Select(r => r.Item.Path).Order(StringComparer.Ordinal), all);
            Assert.Equal(rows.Where(r => r.Item.Path.StartsWith("/a/", StringComparison.Ordinal)).Select(r => r.Item.Path).Order(StringComparer.Ordinal),
                c.Items("/a/").Select(i => i.Path));
            var withVectors = c.ItemsWithVectors().ToList();
            Assert.Equal(15, withVectors.Count);
            Assert.Equal(withVectors.Select(r => r.Item.Id).Order(), withVectors.Select(r => r.Item.Id));
            long middle = withVectors[7].Item.Id;
            Assert.Equal(withVectors.Skip(8).Select(r => r.Item.Id), c.ItemsWithVectors(middle).Select(r => r.Item.Id));
            Assert.True(TensorPrimitives.Dot(withVectors[3].Vector, rows.First(r => r.Item.Id == withVectors[3].Item.Id).Vector) > 0.9999f);
        }
    }

    [Fact]
    public void Bad_input_is_refused_with_a_typed_error_and_nothing_written()
    {
        using IVectorCollection c = Store.OpenOrCreate(NewName(), Space);
        float[] good = RandomUnit(new Random(1));
        Assert.Throws<InvalidInputException>(() => c.Upsert([Item("/x", 1)], [new float[Dims + 1]]));
        Assert.Throws<InvalidInputException>(() => c.Upsert([Item("/x", 1)], [new float[Dims]]));
        float[] nan = (float[])good.Clone();
        nan[3] = float.NaN;
        Assert.Throws<InvalidInputException>(() => c.Upsert([Item("/x", 1), Item("/y", 2)], [good, nan]));
        Assert.Throws<InvalidInputException>(() => c.Upsert([Item("/x", 1), Item("/x", 2)], [good, good]));
        Assert.Throws<InvalidInputException>(() => c.Search(good, 0));
        Assert.Throws<InvalidInputException>(() => c.Search(new float[3]));
        Assert.Throws<InvalidInputException>(() => c.FindDuplicates(0f));
        Assert.Equal(0, c.Count);
    }

    [Fact]
    public void A_collection_remembers_its_model_and_refuses_another()
    {
        string name = NewName();
        using (Store.OpenOrCreate(name, Space))
        {
        }

        Assert.True(Store.Exists(name));
        Assert.Throws<EmbeddingSpaceMismatchException>(() => Store.OpenOrCreate(name, new EmbeddingSpace("test", "other-model", "r1", Dims)));
        Assert.Throws<EmbeddingSpaceMismatchException>(() => Store.OpenOrCreate(name, new EmbeddingSpace("test", "conformance", "r1", Dims * 2)));
        using IVectorCollection reopened = Store.Open(name);
        Assert.Equal(Space, reopened.Space);
        Assert.Throws<CollectionNotFoundException>(() => Store.Open(NewName()));
        Assert.Throws<InvalidInputException>(() => Store.Open("../etc"));
    }

    [Fact]
    public void Stores_list_and_delete_collections()
    {
        (IVectorCollection c, _) = Fill(3);
        string name = c.Name;
        c.Dispose();
        CollectionInfo info = Store.List().Single(i => i.Name == name);
        Assert.Equal(3, info.Count);
        Assert.Equal(Space, info.Space);
        Assert.True(Store.Delete(name));
        Assert.False(Store.Exists(name));
        Assert.False(Store.Delete(name));
    }

    [Fact]
    public void Index_state_and_duplicates_work()
    {
        (IVectorCollection c, var rows) = Fill(10);
        using (c)
        {
            Assert.Null(c.GetIndexState("k"));
            c.SetIndexState("k", "1");
            c.SetIndexState("k", "2");
            Assert.Equal("2", c.GetIndexState("k"));

            float[] near = (float[])rows[0].Vector.Clone();
            near[0] += 0.01f;
            c.Upsert([Item("/a/copy.jpg", 99) with { Width = 5000, Height = 5000 }], [near]);
            DuplicateGroup group = Assert.Single(c.FindDuplicates(0.99f));
            Assert.Equal(["/a/copy.jpg", rows[0].Item.Path], group.Members.Select(m => m.Item.Path));
        }
    }

    [Fact]
    public void Optimize_honours_cancellation_and_then_searches_still_work()
    {
        (IVectorCollection c, var rows) = Fill(30);
        using (c)
        {
            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => c.Optimize(cancelled.Token));
            Assert.ThrowsAny<OperationCanceledException>(() => c.Upsert([Item("/z", 1)], [rows[0].Vector], cancelled.Token));
            c.ApproximateThreshold = 10;
            c.Optimize();
            Assert.Equal(rows[5].Item.Path, c.Search(rows[5].Vector, 3)[0].Item.Path);
            Assert.Equal(30, c.Count);
        }
    }
}

/// <summary>The embedded store (SQLite + in-memory matrix + USearch) runs the conformance suite.</summary>
public sealed class EmbeddedStoreConformanceTests : StoreConformanceTests, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "omnivec-conf-" + Guid.NewGuid().ToString("N"));

    public EmbeddedStoreConformanceTests() => Store = new CollectionStore(_root);

    protected override IVectorStore Store { get; }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}

/// <summary>The PostgreSQL store (pgvector in PGlite, or OMNIVEC_TEST_POSTGRES) runs the same conformance suite.</summary>
public sealed class PostgresStoreConformanceTests : StoreConformanceTests, IClassFixture<PgliteServer>, IDisposable
{
    private readonly PostgresStore _store;

    public PostgresStoreConformanceTests(PgliteServer server) => _store = new PostgresStore(server.Uri);

    protected override IVectorStore Store => _store;

    public void Dispose() => _store.Dispose();
}
