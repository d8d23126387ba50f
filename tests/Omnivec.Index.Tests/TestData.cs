using System.Numerics.Tensors;
using Omnivec.Index;

namespace Omnivec.Index.Tests;

/// <summary>Deterministic vectors shaped like real embeddings: unit vectors scattered around random unit centroids.</summary>
internal static class TestData
{
    public static EmbeddingSpace Space(int dims = 64) => new("test", "clustered", "r1", dims);

    public static float[] Gaussian(Random random, int dims, float sigma = 1f)
    {
        var v = new float[dims];
        for (int i = 0; i < dims; i += 2)
        {
            // Box-Muller: two normals per pair of uniforms.
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1)) * sigma;
            v[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < dims)
            {
                v[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
            }
        }

        return v;
    }

    public static float[] Unit(float[] v)
    {
        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }

    public static float[][] Centroids(int count, int dims, int seed)
    {
        var random = new Random(seed);
        var result = new float[count][];
        for (int i = 0; i < count; i++)
        {
            result[i] = Unit(Gaussian(random, dims));
        }

        return result;
    }

    /// <summary>
    /// normalize(centroid + N(0, σ²I)). With σ²·dims ≈ 0.43 two points of one cluster have cosine ≈ 1/(1+σ²d) ≈ 0.7,
    /// like CLIP image embeddings of one subject.
    /// </summary>
    public static float[][] Clustered(float[][] centroids, int count, int seed, float sigma)
    {
        int dims = centroids[0].Length;
        var result = new float[count][];
        int chunks = Environment.ProcessorCount * 4;
        Parallel.For(0, chunks, chunk =>
        {
            var random = new Random(unchecked((seed * 1_000_003) + chunk)); // not HashCode.Combine: its seed differs per process
            for (int i = chunk; i < count; i += chunks)
            {
                float[] v = Gaussian(random, dims, sigma);
                TensorPrimitives.Add(v, centroids[random.Next(centroids.Length)], v);
                result[i] = Unit(v);
            }
        });
        return result;
    }

    public static CollectionItem Item(int i, string prefix = "/photos/") => new()
    {
        Path = $"{prefix}{i:D6}.jpg",
        MediaType = i % 3 == 0 ? "image/png" : i % 3 == 1 ? "image/jpeg" : "text/plain",
        SizeBytes = 1_000 + (i * 37 % 5_000),
        ModifiedUtc = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddHours(i),
        ContentHash = $"h{i}",
        Width = 100 + (i * 13 % 1_000),
        Height = 80 + (i * 7 % 900),
        TakenAt = i % 5 == 0 ? null : new DateTimeOffset(2019, 6, 1, 12, 0, 0, TimeSpan.FromHours(2)).AddHours(i * 3),
        Camera = i % 2 == 0 ? "Pixel" : null,
    };

    /// <summary>Upserts items and vectors in batches; returns the ids.</summary>
    public static long[] Fill(Collection collection, IReadOnlyList<CollectionItem> items, IReadOnlyList<float[]> vectors, int batch = 5_000)
    {
        var ids = new List<long>(items.Count);
        for (int start = 0; start < items.Count; start += batch)
        {
            int n = Math.Min(batch, items.Count - start);
            ids.AddRange(collection.Upsert(
                items.Skip(start).Take(n).ToList(),
                vectors.Skip(start).Take(n).Select(v => (ReadOnlyMemory<float>)v).ToList()));
        }

        return [.. ids];
    }
}

/// <summary>A fresh folder under /tmp per test, removed afterwards.</summary>
internal sealed class TempRoot : IDisposable
{
    public TempRoot() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "omnivec-idx-" + Guid.NewGuid().ToString("N")[..12]);

    public CollectionStore Store() => new(Path);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The brute-force oracle: every vector scored, filter applied first, sorted by score.</summary>
internal static class Oracle
{
    public static List<(CollectionItem Item, float Score)> TopK(IReadOnlyList<CollectionItem> items, IReadOnlyList<float[]> vectors, float[] query, int k, Func<CollectionItem, bool>? keep = null)
    {
        float[] q = TestData.Unit((float[])query.Clone());
        var scored = new List<(CollectionItem, float)>();
        for (int i = 0; i < items.Count; i++)
        {
            if (keep is null || keep(items[i]))
            {
                double dot = 0;
                for (int d = 0; d < q.Length; d++)
                {
                    dot += (double)q[d] * vectors[i][d];
                }

                scored.Add((items[i], (float)dot));
            }
        }

        return [.. scored.OrderByDescending(s => s.Item2).Take(k)];
    }

    /// <summary>Asserts the hits are the oracle's top-k: same length, same scores rank by rank, and every hit truly qualifies.</summary>
    public static void AssertSame(List<(CollectionItem Item, float Score)> expected, IReadOnlyList<SearchHit> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        float kth = expected.Count > 0 ? expected[^1].Score : 0;
        var expectedPaths = expected.ToDictionary(e => e.Item.Path, e => e.Score);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(Math.Abs(expected[i].Score - actual[i].Score) < 1e-4f, $"rank {i}: expected score {expected[i].Score}, got {actual[i].Score}");
            // Ties within float noise may swap members at the boundary; anything else must be the same item.
            if (!expectedPaths.ContainsKey(actual[i].Item.Path))
            {
                Assert.True(Math.Abs(actual[i].Score - kth) < 1e-4f, $"unexpected item {actual[i].Item.Path} with score {actual[i].Score}");
            }
        }
    }
}
