using Microsoft.Data.Sqlite;
using Omnivec.Index;

namespace Omnivec.Index.Tests;

/// <summary>
/// A collection opened from its snapshot file reads the item records of its hits from SQLite when a search needs them
/// (not every record at load): the hits must be the same records, scores and order as from a matrix rebuilt from the
/// database, and a database that disagrees with the snapshot must still be noticed.
/// </summary>
public sealed class LazyItemsTests : IDisposable
{
    private const int N = 1_500;
    private readonly TempRoot _root = new();
    private readonly float[][] _vectors = TestData.Clustered(TestData.Centroids(15, 64, 21), N, 22, 0.08f);
    private readonly CollectionItem[] _items = [.. Enumerable.Range(0, N).Select(i => TestData.Item(i) with { Caption = $"caption {i}", Extra = i % 4 == 0 ? new Dictionary<string, string> { ["k"] = $"v{i}" } : null })];

    public void Dispose() => _root.Dispose();

    private string Dir => Path.Combine(_root.Path, "l");

    private long[] Create()
    {
        using Collection c = _root.Store().OpenOrCreate("l", TestData.Space());
        long[] ids = TestData.Fill(c, _items, _vectors, batch: 500);
        c.Optimize(forceHnsw: true);
        return ids;
    }

    private IReadOnlyList<SearchHit>[] SearchAll(Collection c, SearchFilter? filter = null) =>
    [
        .. Enumerable.Range(0, 6).Select(i => c.Search(_vectors[i * 211], 50, filter, SearchMode.Exact)),
        .. Enumerable.Range(0, 3).Select(i => c.Search(_vectors[(i * 313) + 7], 20, filter, SearchMode.Approximate)),
        .. c.SearchBatch([.. Enumerable.Range(0, 4).Select(i => (ReadOnlyMemory<float>)_vectors[(i * 97) + 3])], 30, filter, SearchMode.Exact),
    ];

    private static void AssertSameHits(IReadOnlyList<SearchHit>[] expected, IReadOnlyList<SearchHit>[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int q = 0; q < expected.Length; q++)
        {
            Assert.Equal(expected[q].Select(h => h.Item.Id), actual[q].Select(h => h.Item.Id));
            Assert.Equal(expected[q].Select(h => h.Score), actual[q].Select(h => h.Score));
            for (int i = 0; i < expected[q].Count; i++)
            {
                CollectionItem e = expected[q][i].Item, a = actual[q][i].Item;
                Assert.Equal(e with { Extra = null }, a with { Extra = null });
                Assert.Equal(e.Extra?.OrderBy(p => p.Key), a.Extra?.OrderBy(p => p.Key));
            }
        }
    }

    [Fact]
    public void Hits_of_a_snapshot_loaded_collection_are_the_records_and_scores_of_a_rebuilt_one()
    {
        Create();
        var filter = new SearchFilter { MediaType = "image/jpeg" };
        IReadOnlyList<SearchHit>[] lazy, lazyFiltered;
        using (Collection c = _root.Store().Open("l"))
        {
            lazy = SearchAll(c);
            Assert.Equal(LoadSource.Snapshot, c.MatrixSource);
            lazyFiltered = SearchAll(c, filter);
            Assert.Equal(LoadSource.Snapshot, c.MatrixSource);
            // Every hit is the database's record of that id, read at search time.
            foreach (SearchHit hit in lazy.SelectMany(h => h).Concat(lazyFiltered.SelectMany(h => h)))
            {
                CollectionItem stored = c.Get(hit.Item.Id)!;
                Assert.Equal(stored with { Extra = null }, hit.Item with { Extra = null });
            }

            Assert.All(lazyFiltered.SelectMany(h => h), h => Assert.Equal("image/jpeg", h.Item.MediaType));
        }

        File.Delete(Path.Combine(Dir, Collection.SnapshotFileName));
        using (Collection c = _root.Store().Open("l"))
        {
            AssertSameHits(SearchAll(c), lazy);
            Assert.Equal(LoadSource.Rebuilt, c.MatrixSource);
            AssertSameHits(SearchAll(c, filter), lazyFiltered);
        }
    }

    [Fact]
    public void Writes_after_a_snapshot_load_show_in_the_hits_records()
    {
        long[] ids = Create();
        using Collection c = _root.Store().Open("l");
        Assert.Equal(_items[5].Path, c.Search(_vectors[5], 1, mode: SearchMode.Exact)[0].Item.Path);
        Assert.Equal(LoadSource.Snapshot, c.MatrixSource);
        // A record not read yet, changed by a write in this process, then deleted; and a new item.
        c.Upsert([_items[700] with { Caption = "changed" }], [_vectors[700]]);
        Assert.Equal("changed", c.Search(_vectors[700], 1, mode: SearchMode.Exact)[0].Item.Caption);
        Assert.True(c.Delete(ids[701]));
        Assert.NotEqual(ids[701], c.Search(_vectors[701], 1, mode: SearchMode.Exact)[0].Item.Id);
        c.Upsert([TestData.Item(99_999)], [_vectors[702]]);
        Assert.Contains(c.Search(_vectors[702], 2, mode: SearchMode.Exact), h => h.Item.Path == TestData.Item(99_999).Path);
    }

    [Fact]
    public void A_write_by_another_process_after_the_load_is_seen_by_the_next_search()
    {
        long[] ids = Create();
        using Collection reader = _root.Store().Open("l");
        Assert.Equal(_items[9].Path, reader.Search(_vectors[9], 1, mode: SearchMode.Exact)[0].Item.Path);
        using (Collection writer = _root.Store().Open("l"))
        {
            writer.Upsert([_items[900] with { Caption = "from the other writer" }], [_vectors[900]]);
        }

        SearchHit hit = reader.Search(_vectors[900], 1, mode: SearchMode.Exact)[0];
        Assert.Equal(ids[900], hit.Item.Id);
        Assert.Equal("from the other writer", hit.Item.Caption);
    }

    [Fact]
    public void A_snapshot_whose_ids_are_not_the_databases_items_is_rebuilt()
    {
        Create();
        // An item the snapshot does not have (the database was changed behind the generation's back).
        ExecuteBehindTheCollection("INSERT INTO items (path, media_type, size_bytes, modified_ticks, content_hash, width, height) VALUES ('/x/extra.jpg', 'image/jpeg', 1, 0, 'x', 1, 1)");
        using Collection c = _root.Store().Open("l");
        Assert.Equal(_items[11].Path, c.Search(_vectors[11], 1, mode: SearchMode.Exact)[0].Item.Path);
        Assert.Equal(LoadSource.Rebuilt, c.MatrixSource);
    }

    [Fact]
    public void A_hit_whose_record_is_gone_although_the_ids_summed_up_is_found_by_the_rebuild()
    {
        long[] ids;
        using (Collection c = _root.Store().OpenOrCreate("l", TestData.Space()))
        {
            ids = TestData.Fill(c, _items, _vectors, batch: 500);
            Assert.True(c.Delete(ids[100]));
            Assert.True(c.Delete(ids[200]));
            c.Optimize(forceHnsw: true); // the snapshot has neither
        }

        Assert.Equal(Enumerable.Range(0, N).Select(i => ids[0] + i), ids);
        // Two items move into the holes (ids[99] to ids[100], ids[201] to ids[200]) behind the collection's back: count,
        // sum, smallest and largest id stay the same, so the load cannot tell; the read of the hits' records does, and
        // the search answers from the database instead.
        ExecuteBehindTheCollection("PRAGMA foreign_keys=OFF;"
            + $"UPDATE items SET id = {ids[100]} WHERE id = {ids[99]}; UPDATE vectors SET id = {ids[100]} WHERE id = {ids[99]};"
            + $"UPDATE items SET id = {ids[200]} WHERE id = {ids[201]}; UPDATE vectors SET id = {ids[200]} WHERE id = {ids[201]};");
        using Collection again = _root.Store().Open("l");
        again.Preload();
        Assert.Equal(LoadSource.Snapshot, again.MatrixSource);
        SearchHit hit = again.Search(_vectors[99], 1, mode: SearchMode.Exact)[0];
        Assert.Equal(LoadSource.Rebuilt, again.MatrixSource);
        Assert.Equal(_items[99].Path, hit.Item.Path);
        Assert.Equal(ids[100], hit.Item.Id);
    }

    private void ExecuteBehindTheCollection(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(Dir, "collection.db")};Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
