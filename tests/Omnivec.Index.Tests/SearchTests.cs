using Omnivec.Index;

namespace Omnivec.Index.Tests;

/// <summary>Exact and approximate search against the brute-force oracle, with and without filters, on a shared 3,000-item collection.</summary>
public sealed class SearchTests : IClassFixture<SearchTests.Fixture>
{
    private readonly Fixture _f;

    public SearchTests(Fixture fixture) => _f = fixture;

    public sealed class Fixture : IDisposable
    {
        public const int N = 3_000;
        private readonly TempRoot _root = new();

        public Fixture()
        {
            float[][] centroids = TestData.Centroids(30, 64, seed: 1);
            Vectors = TestData.Clustered(centroids, N, seed: 2, sigma: 0.08f);
            Queries = TestData.Clustered(centroids, 40, seed: 3, sigma: 0.08f);
            Items = [.. Enumerable.Range(0, N).Select(i => TestData.Item(i, i % 4 == 0 ? "/photos/2019/" : "/photos/2020/"))];
            Collection = _root.Store().OpenOrCreate("search", TestData.Space());
            long[] ids = TestData.Fill(Collection, Items, Vectors, batch: 700);
            Items = [.. Items.Select((item, i) => item with { Id = ids[i] })];
            // Small enough that Auto would stay exact; force the graph so Approximate paths are exercised.
            Collection.ApproximateThreshold = 1_000;
        }

        public float[][] Vectors { get; }

        public float[][] Queries { get; }

        public CollectionItem[] Items { get; }

        public Collection Collection { get; }

        public void Dispose()
        {
            Collection.Dispose();
            _root.Dispose();
        }
    }

    public static TheoryData<string> Filters => ["none", "prefix", "dates", "media", "minsize", "minwidth", "combined", "fewer-than-top", "needle"];

    private (SearchFilter? Filter, Func<CollectionItem, bool>? Keep) MakeFilter(string name)
    {
        var from = new DateTimeOffset(2019, 9, 1, 0, 0, 0, TimeSpan.Zero);
        var to = new DateTimeOffset(2019, 12, 1, 0, 0, 0, TimeSpan.Zero);
        CollectionItem needle = _f.Items[1234];
        return name switch
        {
            "none" => (null, null),
            "prefix" => (new SearchFilter { PathPrefix = "/photos/2019/" }, i => i.Path.StartsWith("/photos/2019/", StringComparison.Ordinal)),
            "dates" => (new SearchFilter { From = from, To = to }, i => (i.TakenAt ?? i.ModifiedUtc) >= from && (i.TakenAt ?? i.ModifiedUtc) <= to),
            "media" => (new SearchFilter { MediaType = "IMAGE/" }, i => i.MediaType.StartsWith("image/", StringComparison.Ordinal)),
            "minsize" => (new SearchFilter { MinSizeBytes = 3_000 }, i => i.SizeBytes >= 3_000),
            "minwidth" => (new SearchFilter { MinWidth = 600, MinHeight = 300 }, i => i.Width >= 600 && i.Height >= 300),
            "combined" => (new SearchFilter { PathPrefix = "/photos/2020/", MediaType = "image/png", MinSizeBytes = 2_000 },
                i => i.Path.StartsWith("/photos/2020/", StringComparison.Ordinal) && i.MediaType == "image/png" && i.SizeBytes >= 2_000),
            // Matches 3 items: fewer than top.
            "fewer-than-top" => (new SearchFilter { PathPrefix = "/photos/2019/00000" }, i => i.Path.StartsWith("/photos/2019/00000", StringComparison.Ordinal)),
            // One item, far from the query's cluster: filtering a top-k afterwards would return nothing.
            "needle" => (new SearchFilter { PathPrefix = needle.Path }, i => i.Path == needle.Path),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public void Exact_search_equals_the_brute_force_oracle(string filterName)
    {
        (SearchFilter? filter, Func<CollectionItem, bool>? keep) = MakeFilter(filterName);
        foreach (float[] query in _f.Queries.Take(15))
        {
            var expected = Oracle.TopK(_f.Items, _f.Vectors, query, 10, keep);
            IReadOnlyList<SearchHit> actual = _f.Collection.Search(query, 10, filter, SearchMode.Exact);
            Oracle.AssertSame(expected, actual);
        }
    }

    [Fact]
    public void Needle_filter_finds_an_item_that_post_filtering_would_miss()
    {
        (SearchFilter? filter, _) = MakeFilter("needle");
        float[] query = _f.Queries.First(q => !_f.Collection.Search(q, 10, mode: SearchMode.Exact).Any(h => h.Item.Path == _f.Items[1234].Path));
        foreach (SearchMode mode in (SearchMode[])[SearchMode.Exact, SearchMode.Approximate, SearchMode.Auto])
        {
            IReadOnlyList<SearchHit> hits = _f.Collection.Search(query, 10, filter, mode);
            Assert.Equal(_f.Items[1234].Path, Assert.Single(hits).Item.Path);
        }
    }

    public static TheoryData<string, bool> FiltersWithGraph()
    {
        var data = new TheoryData<string, bool>();
        foreach (string f in Filters)
        {
            data.Add(f, false);
            data.Add(f, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FiltersWithGraph))]
    public void Approximate_search_matches_exact_filtered_top_k(string filterName, bool filterInsideGraph)
    {
        (SearchFilter? filter, Func<CollectionItem, bool>? keep) = MakeFilter(filterName);
        // filterInsideGraph: even selective filters walk the HNSW graph with the filter callback (and fall back to exact when it comes up short).
        _f.Collection.SelectiveFilterRows = filterInsideGraph ? 0 : 5_000;
        _f.Collection.SelectiveFilterFraction = filterInsideGraph ? 0 : 0.1;
        int found = 0, total = 0;
        foreach (float[] query in _f.Queries)
        {
            var expected = Oracle.TopK(_f.Items, _f.Vectors, query, 10, keep);
            IReadOnlyList<SearchHit> actual = _f.Collection.Search(query, 10, filter, SearchMode.Approximate);
            Assert.Equal(expected.Count, actual.Count);
            Assert.All(actual, h => Assert.True(keep is null || keep(h.Item), $"{h.Item.Path} does not pass the filter"));
            var truth = expected.Select(e => e.Item.Path).ToHashSet();
            found += actual.Count(h => truth.Contains(h.Item.Path));
            total += expected.Count;
        }

        _f.Collection.SelectiveFilterRows = 5_000;
        _f.Collection.SelectiveFilterFraction = 0.1;
        Assert.True(found >= 0.98 * total, $"recall {found}/{total}");
    }

    [Fact]
    public void Batch_search_equals_single_searches()
    {
        var filter = new SearchFilter { MediaType = "image/" };
        foreach (SearchMode mode in (SearchMode[])[SearchMode.Exact, SearchMode.Approximate])
        {
            IReadOnlyList<IReadOnlyList<SearchHit>> batch = _f.Collection.SearchBatch([.. _f.Queries.Select(q => (ReadOnlyMemory<float>)q)], 7, filter, mode);
            Assert.Equal(_f.Queries.Length, batch.Count);
            for (int i = 0; i < _f.Queries.Length; i++)
            {
                IReadOnlyList<SearchHit> single = _f.Collection.Search(_f.Queries[i], 7, filter, mode);
                Assert.Equal(single.Select(h => h.Item.Id), batch[i].Select(h => h.Item.Id));
            }
        }

        Assert.Empty(_f.Collection.SearchBatch([], 5));
    }

    [Fact]
    public void Top_larger_than_the_collection_returns_everything_sorted()
    {
        IReadOnlyList<SearchHit> hits = _f.Collection.Search(_f.Queries[0], 10_000, mode: SearchMode.Exact);
        Assert.Equal(Fixture.N, hits.Count);
        Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Score >= p.Second.Score));
    }

    [Fact]
    public void Concurrent_searches_are_safe()
    {
        var errors = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        Parallel.For(0, 64, i =>
        {
            try
            {
                float[] q = _f.Queries[i % _f.Queries.Length];
                var expected = Oracle.TopK(_f.Items, _f.Vectors, q, 5);
                Oracle.AssertSame(expected, _f.Collection.Search(q, 5, mode: SearchMode.Exact));
                Assert.Equal(5, _f.Collection.Search(q, 5, mode: SearchMode.Approximate).Count);
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        });
        Assert.Empty(errors);
    }
}
