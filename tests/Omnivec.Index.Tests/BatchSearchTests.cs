using Omnivec.Index;

namespace Omnivec.Index.Tests;

/// <summary>
/// Exact search, batched (the tiled dot-product kernel) and single (the 4-row scan), against the brute-force oracle: sizes that leave remainders
/// in every tile dimension, dimensions the kernel tiles and ones it cannot, and enough rows for a parallel scan.
/// </summary>
public sealed class BatchSearchTests
{
    [Theory]
    [InlineData(64, 9_001, 7)]   // two scan tasks, 7 queries = one 4-query tile + 3 left over, rows not a multiple of 3
    [InlineData(512, 2_501, 13)] // CLIP's width, a single task, a final partial block
    [InlineData(20, 3_000, 6)]   // not a multiple of 8: the pairwise path
    [InlineData(64, 5, 2)]       // fewer rows than one block
    [InlineData(512, 40_003, 3)] // ten scan parts per query, a final partial 4-row group
    public void Batched_exact_search_matches_the_oracle(int dims, int n, int queries)
    {
        using var root = new TempRoot();
        float[][] centroids = TestData.Centroids(25, dims, seed: 11);
        float[][] vectors = TestData.Clustered(centroids, n, seed: 12, sigma: 0.1f);
        float[][] qs = TestData.Clustered(centroids, queries, seed: 13, sigma: 0.1f);
        CollectionItem[] items = [.. Enumerable.Range(0, n).Select(i => TestData.Item(i, i % 3 == 0 ? "/a/" : "/b/"))];
        using Collection c = root.Store().OpenOrCreate("batch", TestData.Space(dims));
        long[] ids = TestData.Fill(c, items, vectors);
        items = [.. items.Select((item, i) => item with { Id = ids[i] })];

        foreach (SearchFilter? filter in (SearchFilter?[])[null, new SearchFilter { PathPrefix = "/a/" }])
        {
            IReadOnlyList<IReadOnlyList<SearchHit>> batch = c.SearchBatch([.. qs.Select(q => (ReadOnlyMemory<float>)q)], 10, filter, SearchMode.Exact);
            Assert.Equal(queries, batch.Count);
            for (int q = 0; q < queries; q++)
            {
                var expected = Oracle.TopK(items, vectors, qs[q], 10, filter is null ? null : item => item.Path.StartsWith("/a/", StringComparison.Ordinal));
                Oracle.AssertSame(expected, batch[q]);
                // The single-query scan (4-row kernel, parts handed out to threads) must agree too.
                Oracle.AssertSame(expected, c.Search(qs[q], 10, filter, SearchMode.Exact));
            }
        }
    }
}
