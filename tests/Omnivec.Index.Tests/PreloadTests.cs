using Omnivec.Index;

namespace Omnivec.Index.Tests;

/// <summary>
/// <see cref="IVectorCollection.Preload"/>: the vectors load before the first search (the CLI overlaps it with loading
/// the model), searches running meanwhile wait for the same load, and later writes are still seen.
/// </summary>
public sealed class PreloadTests : IDisposable
{
    private readonly TempRoot _root = new();
    private readonly float[][] _vectors = TestData.Clustered(TestData.Centroids(10, 64, 3), 1_500, 4, 0.08f);
    private readonly CollectionItem[] _items = [.. Enumerable.Range(0, 1_500).Select(i => TestData.Item(i))];

    public PreloadTests()
    {
        using Collection c = _root.Store().OpenOrCreate("p", TestData.Space());
        TestData.Fill(c, _items, _vectors, batch: 500);
        c.Optimize();
    }

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Preload_loads_the_vectors_from_the_snapshot_before_any_search()
    {
        using Collection c = _root.Store().Open("p");
        Assert.Equal(LoadSource.None, c.MatrixSource);
        c.Preload();
        Assert.Equal(LoadSource.Snapshot, c.MatrixSource);
        Oracle.AssertSame(Oracle.TopK(_items, _vectors, _vectors[42], 10), c.Search(_vectors[42], 10, mode: SearchMode.Exact));
    }

    [Fact]
    public async Task Searches_during_a_preload_get_the_same_answers()
    {
        using Collection c = _root.Store().Open("p");
        IVectorCollection collection = c;
        Task preload = Task.Run(() => collection.Preload());
        IReadOnlyList<SearchHit>[] found = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() => c.Search(_vectors[i * 300], 10, mode: SearchMode.Exact))));
        await preload;
        for (int i = 0; i < found.Length; i++)
        {
            Oracle.AssertSame(Oracle.TopK(_items, _vectors, _vectors[i * 300], 10), found[i]);
        }
    }

    [Fact]
    public void A_write_after_the_preload_is_found()
    {
        using Collection reader = _root.Store().Open("p");
        reader.Preload();
        float[] fresh = TestData.Clustered(TestData.Centroids(1, 64, 99), 1, 1, 0.01f)[0];
        using (Collection writer = _root.Store().Open("p"))
        {
            writer.Upsert([TestData.Item(9_999)], [fresh]);
        }

        Assert.Equal(TestData.Item(9_999).Path, reader.Search(fresh, 1, mode: SearchMode.Exact)[0].Item.Path);
    }

    [Fact]
    public void Preload_of_a_disposed_collection_is_refused()
    {
        Collection c = _root.Store().Open("p");
        c.Dispose();
        Assert.Throws<ObjectDisposedException>(() => c.Preload());
    }
}
