using System.Diagnostics;
using Omnivec.Index;
using Xunit.Abstractions;

namespace Omnivec.Index.Tests;

/// <summary>The CPU-heavy tests (crash loop, 100k recall) run one after the other, not alongside each other.</summary>
[CollectionDefinition(Name)]
public sealed class HeavyTests
{
    public const string Name = "heavy";
}

[Collection(HeavyTests.Name)]
public sealed class RecallTests : IDisposable
{
    private readonly TempRoot _root = new();
    private readonly ITestOutputHelper _output;

    public RecallTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _root.Dispose();

    /// <summary>
    /// 100,000 CLIP-like 512-d vectors (1,000 clusters, intra-cluster cosine ≈ 0.7) and 250 queries drawn the same way:
    /// the HNSW graph's recall@10 against exact search must be at least 0.98.
    /// </summary>
    [Fact]
    public void Approximate_recall_at_10_is_at_least_098_on_100k_clustered_512d_vectors()
    {
        const int N = 100_000, Dims = 512, Queries = 250;
        var clock = Stopwatch.StartNew();
        float[][] centroids = TestData.Centroids(1_000, Dims, seed: 21);
        float sigma = MathF.Sqrt(0.43f / Dims);
        float[][] vectors = TestData.Clustered(centroids, N, seed: 22, sigma);
        float[][] queries = TestData.Clustered(centroids, Queries, seed: 23, sigma);
        var items = Enumerable.Range(0, N).Select(i => new CollectionItem { Path = $"/r/{i:D6}", MediaType = i % 2 == 0 ? "image/jpeg" : "image/png" }).ToList();
        _output.WriteLine($"generated in {clock.ElapsedMilliseconds} ms; sample intra-cluster cosine {IntraClusterCosine(centroids, sigma):F3}");

        using Collection c = _root.Store().OpenOrCreate("recall", TestData.Space(Dims));
        clock.Restart();
        TestData.Fill(c, items, vectors, batch: 10_000);
        _output.WriteLine($"upserted in {clock.ElapsedMilliseconds} ms");

        var batch = queries.Select(q => (ReadOnlyMemory<float>)q).ToList();
        clock.Restart();
        IReadOnlyList<IReadOnlyList<SearchHit>> exact = c.SearchBatch(batch, 10, mode: SearchMode.Exact);
        _output.WriteLine($"exact: matrix load + {Queries} queries in {clock.ElapsedMilliseconds} ms");

        clock.Restart();
        c.Optimize(); // 100k ≥ the Auto threshold: builds and saves the graph
        _output.WriteLine($"HNSW built in {clock.ElapsedMilliseconds} ms");
        Assert.Equal(LoadSource.Rebuilt, c.HnswSource);

        clock.Restart();
        IReadOnlyList<IReadOnlyList<SearchHit>> approx = c.SearchBatch(batch, 10, mode: SearchMode.Auto);
        _output.WriteLine($"approximate: {Queries} queries in {clock.ElapsedMilliseconds} ms");

        int found = 0;
        for (int q = 0; q < Queries; q++)
        {
            var truth = exact[q].Select(h => h.Item.Id).ToHashSet();
            found += approx[q].Count(h => truth.Contains(h.Item.Id));
        }

        double recall = found / (double)(Queries * 10);
        _output.WriteLine($"recall@10 = {recall:F4} over {Queries} queries");
        Console.WriteLine($"[Omnivec.Index] HNSW recall@10 on 100k x 512 clustered vectors: {recall:F4}");
        Assert.True(recall >= 0.98, $"recall@10 {recall:F4} < 0.98");

        // Filtered inside the graph walk (half of the items pass): results equal the exact filtered top-10 with high recall.
        var png = new SearchFilter { MediaType = "image/png" };
        var some = batch.Take(50).ToList();
        IReadOnlyList<IReadOnlyList<SearchHit>> exactFiltered = c.SearchBatch(some, 10, png, SearchMode.Exact);
        IReadOnlyList<IReadOnlyList<SearchHit>> approxFiltered = c.SearchBatch(some, 10, png, SearchMode.Approximate);
        int filteredFound = 0;
        for (int q = 0; q < some.Count; q++)
        {
            Assert.All(approxFiltered[q], h => Assert.Equal("image/png", h.Item.MediaType));
            var truth = exactFiltered[q].Select(h => h.Item.Id).ToHashSet();
            filteredFound += approxFiltered[q].Count(h => truth.Contains(h.Item.Id));
        }

        double filteredRecall = filteredFound / (double)(some.Count * 10);
        _output.WriteLine($"filtered (50% pass) recall@10 = {filteredRecall:F4}");
        Assert.True(filteredRecall >= 0.97, $"filtered recall@10 {filteredRecall:F4}");
    }

    private static double IntraClusterCosine(float[][] centroids, float sigma)
    {
        float[][] a = TestData.Clustered([centroids[0]], 20, 1, sigma);
        double sum = 0;
        int n = 0;
        for (int i = 0; i < a.Length; i++)
        {
            for (int j = i + 1; j < a.Length; j++)
            {
                sum += System.Numerics.Tensors.TensorPrimitives.Dot(a[i], a[j]);
                n++;
            }
        }

        return sum / n;
    }
}
