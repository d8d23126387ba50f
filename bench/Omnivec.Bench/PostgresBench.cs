using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using Omnivec.Index;
using Omnivec.Index.Postgres;

namespace Omnivec.Bench;

/// <summary>
/// The embedded store next to PostgreSQL + pgvector (<c>vector</c> and <c>halfvec</c> columns) on the same synthetic
/// clustered unit vectors, in one run: ingest rate, HNSW build time (m 16, ef_construction 64 on both), recall@10 of
/// HNSW against exact search and single-query latency at several ef_search, exact-search latency, table size.
///   pgsearch --uri postgresql://… --n N --dim D --queries Q --out FILE
/// </summary>
internal static class PostgresBench
{
    private static readonly int[] EfSteps = [16, 40, 100, 200];

    public static int Run(Args a)
    {
        int n = a.Int("n", 10_000), dim = a.Int("dim", 512), nq = a.Int("queries", 100);
        string uri = a.Get("uri");
        (float[][] vectors, float[][] queries) = Synthetic(n, dim, nq, seed: 42);
        int[][] truth = queries.Select(q => Top(vectors, q, 10)).ToArray();
        var results = new Results();
        var space = new EmbeddingSpace("local", "synthetic", "1", dim);
        var np = new JsonObject { ["n"] = n, ["dim"] = dim, ["queries"] = nq, ["M"] = 16, ["ef_construction"] = Collection.DefaultBuildExpansion };

        string root = Path.Combine(Path.GetTempPath(), "omnivec-bench-pg-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            var embedded = new CollectionStore(root);
            using (IVectorCollection c = embedded.OpenOrCreate("bench", space))
            {
                Measure(results, "embedded", c, vectors, queries, truth, np, null);
            }

            foreach (PgVectorType type in new[] { PgVectorType.Vector, PgVectorType.HalfVec })
            {
                using var store = new PostgresStore(uri, new PostgresStoreOptions { VectorType = type });
                string name = "bench-" + type.ToString().ToLowerInvariant();
                store.Delete(name);
                using IVectorCollection c = store.OpenOrCreate(name, space);
                string contender = type == PgVectorType.Vector ? "pg-vector" : "pg-halfvec";
                Measure(results, contender, c, vectors, queries, truth, np, () => store.List().Single(i => i.Name == name).BytesOnDisk);
                store.Delete(name);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        results.Write(a.Get("out"));
        return 0;
    }

    private static void Measure(Results results, string contender, IVectorCollection c, float[][] vectors, float[][] queries, int[][] truth, JsonObject np, Func<long>? size)
    {
        var paths = new Dictionary<string, int>(vectors.Length, StringComparer.Ordinal);
        long start = Stopwatch.GetTimestamp();
        for (int s = 0; s < vectors.Length; s += 1000)
        {
            int count = Math.Min(1000, vectors.Length - s);
            var items = new List<CollectionItem>(count);
            var batch = new List<ReadOnlyMemory<float>>(count);
            for (int i = s; i < s + count; i++)
            {
                string path = "/v/" + i.ToString(CultureInfo.InvariantCulture);
                paths[path] = i;
                items.Add(new CollectionItem { Path = path });
                batch.Add(vectors[i]);
            }

            c.Upsert(items, batch);
        }

        double ingest = Stopwatch.GetElapsedTime(start).TotalSeconds;
        results.Add("pg.ingest_vectors_per_s", contender, [vectors.Length / ingest], "vectors/s", Search.Clone(np, ("batch", 1000)));

        // Exact: every query once after a warm-up.
        double[] exact = Latencies(c, queries, SearchMode.Exact, null, out _, paths, truth);
        results.Add("pg.exact_p50_ms", contender, [Percentile(exact, 0.5)], "ms", Search.Clone(np));

        c.ApproximateThreshold = 1;
        start = Stopwatch.GetTimestamp();
        c.Optimize();
        results.Add("pg.hnsw_build_s", contender, [Stopwatch.GetElapsedTime(start).TotalSeconds], "s", Search.Clone(np));
        if (size is not null)
        {
            results.Add("pg.bytes_per_vector", contender, [size() / (double)vectors.Length], "bytes", Search.Clone(np, ("what", "pg_total_relation_size: table + TOAST + unique path index + HNSW index")));
        }

        foreach (int ef in EfSteps)
        {
            double[] latency = Latencies(c, queries, SearchMode.Approximate, ef, out double recall, paths, truth);
            results.Add("pg.hnsw_recall_at_10", contender, [recall], "recall", Search.Clone(np, ("ef_search", ef)));
            results.Add("pg.hnsw_p50_ms", contender, [Percentile(latency, 0.5)], "ms", Search.Clone(np, ("ef_search", ef)));
            results.Add("pg.hnsw_p99_ms", contender, [Percentile(latency, 0.99)], "ms", Search.Clone(np, ("ef_search", ef)));
        }
    }

    private static double[] Latencies(IVectorCollection c, float[][] queries, SearchMode mode, int? ef, out double recall, Dictionary<string, int> paths, int[][] truth)
    {
        _ = c.Search(queries[0], 10, mode: mode, expansion: ef);
        var ms = new double[queries.Length];
        int found = 0;
        for (int q = 0; q < queries.Length; q++)
        {
            long start = Stopwatch.GetTimestamp();
            IReadOnlyList<SearchHit> hits = c.Search(queries[q], 10, mode: mode, expansion: ef);
            ms[q] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            found += hits.Count(h => truth[q].Contains(paths[h.Item.Path]));
        }

        recall = found / (10.0 * queries.Length);
        return ms;
    }

    private static double Percentile(double[] values, double p)
    {
        double[] sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(p * sorted.Length))];
    }

    private static int[] Top(float[][] vectors, float[] q, int k) =>
        Enumerable.Range(0, vectors.Length).OrderByDescending(i => TensorPrimitives.Dot(vectors[i], q)).ThenBy(i => i).Take(k).ToArray();

    /// <summary>CLIP-like data: 1000 random centroids (or n/10 if fewer), each vector a centroid plus noise, normalised.</summary>
    private static (float[][] Vectors, float[][] Queries) Synthetic(int n, int dim, int nq, int seed)
    {
        var random = new Random(seed);
        int clusters = Math.Max(1, Math.Min(1000, n / 10));
        float[][] centroids = Enumerable.Range(0, clusters).Select(_ => Unit(Gaussian(random, dim, 1.0))).ToArray();
        float[] Make()
        {
            float[] v = Gaussian(random, dim, 0.6);
            float[] c = centroids[random.Next(clusters)];
            for (int d = 0; d < dim; d++)
            {
                v[d] = c[d] + (v[d] / (float)Math.Sqrt(dim));
            }

            return Unit(v);
        }

        return (Enumerable.Range(0, n).Select(_ => Make()).ToArray(), Enumerable.Range(0, nq).Select(_ => Make()).ToArray());
    }

    private static float[] Gaussian(Random random, int dim, double sigma)
    {
        var v = new float[dim];
        for (int d = 0; d < dim; d++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            v[d] = (float)(sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return v;
    }

    private static float[] Unit(float[] v)
    {
        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }
}
