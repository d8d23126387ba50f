using Omnivec.Index;

namespace Omnivec.Index.Tests;

/// <summary>
/// HNSW search expansion (ef) per collection and per call, on data hard enough that ef matters: unclustered
/// random 64-d vectors, where a narrow graph walk visibly misses neighbours and a wide one finds them all.
/// </summary>
public sealed class ExpansionTests : IDisposable
{
    private const int N = 6_000;
    private readonly TempRoot _root = new();
    private readonly Collection _collection;
    private readonly float[][] _vectors;
    private readonly float[][] _queries;
    private readonly CollectionItem[] _items;

    public ExpansionTests()
    {
        var random = new Random(21);
        _vectors = [.. Enumerable.Range(0, N).Select(_ => TestData.Unit(TestData.Gaussian(random, 64)))];
        _queries = [.. Enumerable.Range(0, 50).Select(_ => TestData.Unit(TestData.Gaussian(random, 64)))];
        _items = [.. Enumerable.Range(0, N).Select(i => TestData.Item(i))];
        _collection = _root.Store().OpenOrCreate("ef", TestData.Space());
        _collection.BuildExpansion = 16; // a deliberately weak graph, so the search expansion has work to do
        long[] ids = TestData.Fill(_collection, _items, _vectors);
        _items = [.. _items.Select((item, i) => item with { Id = ids[i] })];
    }

    public void Dispose()
    {
        _collection.Dispose();
        _root.Dispose();
    }

    [Fact]
    public void Wider_expansion_finds_more_true_neighbours()
    {
        double narrow = Recall(q => _collection.Search(q, 10, mode: SearchMode.Approximate, expansion: 10));
        double wide = Recall(q => _collection.Search(q, 10, mode: SearchMode.Approximate, expansion: 1_000));
        Assert.True(narrow < 0.97, $"recall@10 at ef 10 was {narrow:F3}: the data is too easy to show ef at work");
        // The weak graph is built in parallel, so its quality varies a little between runs (0.988–1.0 at ef 1000 seen).
        Assert.True(wide >= 0.97 && wide >= narrow + 0.02, $"recall@10 at ef 1000 was {wide:F3}, at ef 10 {narrow:F3}");
    }

    [Fact]
    public void The_collection_default_applies_when_a_call_gives_none_and_a_call_overrides_it()
    {
        double explicitWide = Recall(q => _collection.Search(q, 10, mode: SearchMode.Approximate, expansion: 1_000));
        double explicitNarrow = Recall(q => _collection.Search(q, 10, mode: SearchMode.Approximate, expansion: 10));
        _collection.SearchExpansion = 1_000;
        double byDefault = Recall(q => _collection.Search(q, 10, mode: SearchMode.Approximate));
        double overridden = Recall(q => _collection.Search(q, 10, mode: SearchMode.Approximate, expansion: 10));
        IReadOnlyList<IReadOnlyList<SearchHit>> batch = _collection.SearchBatch([.. _queries.Select(q => (ReadOnlyMemory<float>)q)], 10, mode: SearchMode.Approximate);
        double batched = Recall(q => batch[Array.IndexOf(_queries, q)]);
        Assert.Equal(explicitWide, byDefault);
        Assert.Equal(explicitNarrow, overridden);
        Assert.True(overridden < byDefault, $"ef 10 for one call gave {overridden:F3}, default {byDefault:F3}");
        Assert.Equal(byDefault, batched);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(4_097)]
    public void Out_of_range_expansion_is_a_typed_error(int ef)
    {
        Assert.Throws<InvalidInputException>(() => _collection.SearchExpansion = ef);
        Assert.Throws<InvalidInputException>(() => _collection.BuildExpansion = ef);
        Assert.Throws<InvalidInputException>(() => _collection.Search(_queries[0], 5, mode: SearchMode.Approximate, expansion: ef));
    }

    [Fact]
    public void A_graph_loaded_from_disk_honours_the_expansion_too()
    {
        _collection.Optimize();
        double before = Recall(q => _collection.Search(q, 10, mode: SearchMode.Approximate, expansion: 10));
        using Collection reopened = _root.Store().Open("ef");
        double narrow = Recall(q => reopened.Search(q, 10, mode: SearchMode.Approximate, expansion: 10));
        double wide = Recall(q => reopened.Search(q, 10, mode: SearchMode.Approximate, expansion: 1_000));
        Assert.Equal(before, narrow);
        Assert.True(wide >= 0.97 && narrow < wide, $"reloaded graph: ef 10 → {narrow:F3}, ef 1000 → {wide:F3}");
    }

    private double Recall(Func<float[], IReadOnlyList<SearchHit>> search)
    {
        int found = 0;
        foreach (float[] q in _queries)
        {
            HashSet<string> truth = [.. Oracle.TopK(_items, _vectors, q, 10).Select(e => e.Item.Path)];
            found += search(q).Count(h => truth.Contains(h.Item.Path));
        }

        return found / (10.0 * _queries.Length);
    }
}
