using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnivec.Bench;
using Omnivec.Index;
using Omnivec.Models;
using Omnivec.Onnx;

// Benchmark driver called by bench/run.sh. Each mode writes a JSON list of
// {"metric","contender","value","unit","params"} records (value = median; params carry min, max and runs).
//   embed     --model DIR --photos DIR --large DIR --batches 1,8,32 --items N --repeats R --threads T --out FILE
//   search    --data DIR --n N --repeats R --out FILE
//   coldstart --model DIR --data DIR --n N --store DIR
//   sessionload --model FILE --variant all|basic|…|saved-all [--cache DIR]   (one ORT session load in a fresh process; SessionLoadBench.cs)
//   pgsearch  --uri postgresql://… --n N --dim D --queries Q --out FILE   (embedded store vs pgvector vector/halfvec)
//   scenecuts [--photos DIR] [--out DIR] [--thresholds 6,8,…] [--ratios 0,3,…] (scene-cut threshold sweep: precision/recall, no timing)
//   audiowindows [--model DIR] [--out DIR] [--hops 10,5,…]                 (audio window hop sweep: right offset first, no timing)
//   videoindex --model DIR --video FILE --cuts FILE --threads T --out FILE   (one video through the indexing pipeline: x real time, peak RSS, cut accuracy)
//   videoframes [--model DIR] [--out DIR] [--frames 1,2,3,4,6,8]                 (frames per segment: pooled vectors against many frames, photo finds its shot; no timing)
//   audioindex --model DIR --audio FILE --out FILE [--check FILE]           (CLAP indexing and features as a multiple of real time)
//   audiolong [--model DIR] [--hours 10] --out FILE                         (a 10-hour recording end to end: time, peak heap and RSS)
//   decodefactors --model DIR --dirs DIR[,DIR] [--out FILE] [--md FILE]     (JPEG 1/1..1/8 IDCT scales: cosine to the full decode; DecodeFactorBench.cs)
//   e2eprofile --model DIR --large DIR [--batch 8] [--factors 2,1.5]          (where an end-to-end image batch spends its time; E2eProfileBench.cs)
//   textbatches --model DIR [--batches 1,8,16,32,64] [--items 64]             (model-only texts/s by batch size on the load test's texts)
//   jpegdecoders --large DIR                                                  (Skia against Magick.NET's libjpeg-turbo at 1/8 and 1/4: time, pixel differences)
//   overlapproto --model DIR --large DIR [--batch 8]                          (prototype: decode half a batch beside the tower's run on the other half)
var a = new Args(args);
return a.Mode switch
{
    "embed" => Embed.Run(a),
    "search" => Search.Run(a),
    "coldstart" => ColdStart.Run(a),
    "sessionload" => SessionLoadBench.Run(a),
    "pgsearch" => PostgresBench.Run(a),
    "scenecuts" => SceneCutBench.Run(a),
    "audiowindows" => AudioWindowBench.Run(a),
    "videoindex" => VideoIndexBench.Run(a),
    "videoframes" => VideoFramesBench.Run(a),
    "audioindex" => AudioIndexBench.Run(a),
    "audiolong" => AudioIndexBench.RunLong(a),
    "decodefactors" => DecodeFactorBench.Run(a),
    "e2eprofile" => E2eProfileBench.Run(a),
    "textbatches" => E2eProfileBench.RunTextBatches(a),
    "jpegdecoders" => E2eProfileBench.RunJpegDecoders(a),
    "overlapproto" => E2eProfileBench.RunOverlapPrototype(a),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Omnivec.Bench embed|search|coldstart|sessionload|pgsearch|scenecuts|audiowindows|audioindex|audiolong|videoindex|videoframes|decodefactors [options] (see bench/README.md)");
    return 2;
}

namespace Omnivec.Bench
{
    internal sealed class Args
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

        public Args(string[] args)
        {
            Mode = args.Length > 0 ? args[0] : "";
            for (int i = 1; i + 1 < args.Length; i += 2)
            {
                _values[args[i].TrimStart('-')] = args[i + 1];
            }
        }

        public string Mode { get; }

        public string Get(string name, string? fallback = null) =>
            _values.TryGetValue(name, out string? v) ? v : fallback ?? throw new ArgumentException($"--{name} is required");

        public int Int(string name, int fallback) => _values.TryGetValue(name, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        public int[] Ints(string name, string fallback) =>
            Get(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>Collects result records and writes them as JSON.</summary>
    internal sealed class Results
    {
        private readonly JsonArray _records = [];

        public void Add(string metric, string contender, double[] samples, string unit, JsonObject parameters)
        {
            double[] sorted = samples.Order().ToArray();
            double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
            parameters["min"] = Math.Round(sorted[0], 6);
            parameters["max"] = Math.Round(sorted[^1], 6);
            parameters["runs"] = sorted.Length;
            _records.Add(new JsonObject
            {
                ["metric"] = metric,
                ["contender"] = contender,
                ["value"] = Math.Round(median, 6),
                ["unit"] = unit,
                ["params"] = parameters,
            });
            Console.Error.WriteLine($"  {contender,-10} {metric,-28} {median,12:0.###} {unit,-10} {parameters.ToJsonString()}");
        }

        public void Write(string path) =>
            File.WriteAllText(path, _records.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    internal static class Measure
    {
        /// <summary>One warm-up call, then <paramref name="repeats"/> timed calls; returns seconds per call.</summary>
        public static double[] Seconds(int repeats, Action body)
        {
            body();
            var samples = new double[repeats];
            for (int r = 0; r < repeats; r++)
            {
                long start = Stopwatch.GetTimestamp();
                body();
                samples[r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }

            return samples;
        }

        public static long Rss()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }

            return 0;
        }

        /// <summary>Where resident memory is, on stderr (after <see cref="Rss"/>'s collection): anonymous vs file pages, GC heap.</summary>
        public static void Breakdown(string label)
        {
            var fields = File.ReadLines("/proc/self/status").Where(l => l.StartsWith("Rss", StringComparison.Ordinal) || l.StartsWith("VmRSS", StringComparison.Ordinal))
                .Select(l => string.Join(' ', l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries)));
            GCMemoryInfo gc = GC.GetGCMemoryInfo();
            Console.Error.WriteLine($"  memory {label}: {string.Join(", ", fields)}; GC heap {gc.HeapSizeBytes >> 10} kB, committed {gc.TotalCommittedBytes >> 10} kB, fragmented {gc.FragmentedBytes >> 10} kB; SQLite {SQLitePCL.raw.sqlite3_memory_used() >> 10} kB");
        }
    }

    internal static class Embed
    {
        public static int Run(Args a)
        {
            string model = a.Get("model");
            int threads = a.Int("threads", 2);
            int items = a.Int("items", 32);
            int repeats = a.Int("repeats", 3);
            int[] batches = a.Ints("batches", "1,8,32");
            // --prefix siglip --images-only 1: another pack's image tower (the SigLIP B/16 row), under its own metric names.
            string prefix = a.Get("prefix", "embed");
            bool imagesOnly = a.Int("images-only", 0) != 0;
            var results = new Results();
            // --decode-factor F: ImageDecoderOptions.ReducedDecodeFactor for this run (default: the library's), to compare settings.
            var decoderOptions = new Omnivec.Imaging.ImageDecoderOptions();
            if (a.Get("decode-factor", "") is { Length: > 0 } factor)
            {
                decoderOptions.ReducedDecodeFactor = double.Parse(factor, CultureInfo.InvariantCulture);
            }

            using var generator = ClipEmbeddingGenerator.Load(model, new ClipModelOptions
            {
                MaxBatchSize = batches.Max(),
                IntraOpThreads = threads,
                DecodeParallelism = threads,
                Decoder = decoderOptions,
            });

            // Model only: already decoded 224x224 images (preprocessing is then a normalisation pass) and texts.
            var rng = new Random(1);
            var images = new List<RgbImage>();
            for (int i = 0; i < items; i++)
            {
                RgbImage img = RgbImage.Allocate(224, 224);
                rng.NextBytes(img.Pixels);
                images.Add(img);
            }

            string[] texts = Enumerable.Range(0, items).Select(i => Captions[i % Captions.Length] + (i >= Captions.Length ? $" number {i}" : "")).ToArray();
            foreach (int b in batches)
            {
                var p = new JsonObject { ["batch"] = b, ["items"] = items, ["threads"] = threads };
                double[] s = Measure.Seconds(repeats, () => InChunks(images, b, chunk => generator.EmbedImages(chunk)));
                results.Add(prefix + ".model.images_per_s", "omnivec", s.Select(x => items / x).ToArray(), "images/s", p);
                if (imagesOnly)
                {
                    continue;
                }

                s = Measure.Seconds(repeats, () => InChunks(texts, b, chunk => generator.EmbedTexts(chunk)));
                results.Add("embed.model.texts_per_s", "omnivec", s.Select(x => items / x).ToArray(), "texts/s", Search.Clone(p, ("text_len", "longest")));
            }

            // The same texts padded to the full 77-token context (TrimTextPadding off): equal work to the ceiling's 5.96 GFLOP.
            using (var padded = imagesOnly ? null : ClipEmbeddingGenerator.Load(model, new ClipModelOptions
            {
                MaxBatchSize = batches.Max(),
                IntraOpThreads = threads,
                TrimTextPadding = false,
            }))
            {
                foreach (int b in padded is null ? [] : batches)
                {
                    double[] s = Measure.Seconds(repeats, () => InChunks(texts, b, chunk => padded!.EmbedTexts(chunk)));
                    results.Add("embed.model.texts_per_s", "omnivec", s.Select(x => items / x).ToArray(), "texts/s",
                        new JsonObject { ["batch"] = b, ["items"] = items, ["threads"] = threads, ["text_len"] = "77" });
                }
            }

            foreach (RgbImage img in images)
            {
                img.Dispose();
            }

            // End to end: read, decode (EXIF-aware, reduced JPEG decoding where possible), preprocess, embed.
            foreach ((string set, string dir) in new[] { ("photos", a.Get("photos")), ("large", a.Get("large")) })
            {
                string[] files = Directory.GetFiles(dir).Where(f => !f.EndsWith(".tsv", StringComparison.Ordinal) && !f.EndsWith(".json", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
                int limit = a.Int(set + "-items", 0);
                files = limit > 0 ? files.Take(limit).ToArray() : files;
                foreach (int b in batches)
                {
                    int failures = 0;
                    double[] s = Measure.Seconds(repeats, () => InChunks(files, b, chunk =>
                    {
                        foreach (EmbeddingOutcome o in generator.EmbedImageFiles(chunk))
                        {
                            failures += o.Succeeded ? 0 : 1;
                        }

                        return 0;
                    }));
                    var p = new JsonObject { ["set"] = set, ["batch"] = b, ["items"] = files.Length, ["threads"] = threads, ["failures"] = failures };
                    results.Add(prefix + ".e2e.images_per_s", "omnivec", s.Select(x => files.Length / x).ToArray(), "images/s", p);
                }
            }

            // Parity check: the report compares these vectors across contenders (same weights, same preprocessing idea).
            string firstPhoto = Directory.GetFiles(a.Get("photos")).Where(f => !f.EndsWith(".tsv", StringComparison.Ordinal)).Order(StringComparer.Ordinal).First();
            var check = new JsonObject
            {
                ["text"] = imagesOnly ? null : texts[0],
                ["text_embedding"] = imagesOnly ? null : new JsonArray(generator.EmbedTexts([texts[0]])[0].Select(v => (JsonNode)v).ToArray()),
                ["image"] = Path.GetFileName(firstPhoto),
                ["image_embedding"] = new JsonArray(generator.EmbedImageFiles([firstPhoto])[0].Embedding!.Vector.ToArray().Select(v => (JsonNode)v).ToArray()),
            };
            File.WriteAllText(a.Get("check"), check.ToJsonString());
            results.Write(a.Get("out"));
            return 0;
        }

        private static int InChunks<T, TR>(IReadOnlyList<T> all, int batch, Func<IReadOnlyList<T>, TR> body)
        {
            for (int i = 0; i < all.Count; i += batch)
            {
                _ = body(all.Skip(i).Take(batch).ToArray());
            }

            return all.Count;
        }

        internal static readonly string[] Captions =
        [
            "a photo of a cat", "a diagram", "A photo of two dogs playing on the beach at sunset.", "a red door",
            "a bowl of bananas on a kitchen table", "an astronaut riding a horse", "a city skyline at night",
            "a close-up of a flower with a bee", "a page of handwritten notes", "a snowy mountain under a blue sky",
            "a plate of pasta with tomato sauce", "people crossing a busy street in the rain", "a vintage car parked by the sea",
            "a screenshot of a spreadsheet", "a child flying a kite in a park", "an old map of Europe",
        ];
    }

    internal static class Search
    {
        public static int Run(Args a)
        {
            var data = Dataset.Load(a.Get("data"), a.Int("n", 0));
            int repeats = a.Int("repeats", 3);
            int batchSize = a.Int("batch", 100);
            var results = new Results();
            string root = Path.Combine(Path.GetTempPath(), "omnivec-bench-search-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            try
            {
                var store = new CollectionStore(root);
                // The store's code is loaded and run once before the baseline, as the Python side imports hnswlib and
                // FAISS before its own: the memory measured is the collection's, not the runtime's code for it.
                WarmUp(store, data);
                long rss0 = Measure.Rss();
                Measure.Breakdown("before");
                using Collection c = store.OpenOrCreate("bench", new EmbeddingSpace("local", "synthetic", "1", data.Dim));
                long start = Stopwatch.GetTimestamp();
                _ = data.UpsertInto(c, i => "v" + i.ToString(CultureInfo.InvariantCulture));
                double ingest = Stopwatch.GetElapsedTime(start).TotalSeconds;
                // Each item's row in the data set is in its path ("v123"): recall needs no id map of the bench's own.
                var index = new RowOfItem();

                var np = new JsonObject { ["n"] = data.N, ["dim"] = data.Dim };
                results.Add("search.ingest_s", "omnivec", [ingest], "s", Clone(np, ("what", "Upsert into SQLite + in-memory matrix")));
                // First exact search loads nothing more (the matrix is kept in memory by Upsert); memory after exact set-up:
                _ = c.Search(data.Query(0), 10, mode: SearchMode.Exact);
                long rssExact = Measure.Rss();
                Measure.Breakdown("exact");
                results.Add("search.bytes_per_vector", "omnivec", [(rssExact - rss0) / (double)data.N], "bytes", Clone(np, ("index", "exact")));
                if (a.Get("hnsw-only", "0") != "1")
                {
                    RunQueries(results, c, data, index, SearchMode.Exact, "exact", repeats, batchSize, np);
                }

                if (a.Get("exact-only", "0") == "1")
                {
                    results.Write(a.Get("out"));
                    return 0;
                }


                // The same graph parameters as the other contenders (M 16, ef_construction 128), and the same rule for
                // ef: the smallest that reaches the target recall@10 on the query set.
                c.BuildExpansion = BuildExpansion;
                start = Stopwatch.GetTimestamp();
                c.Optimize();
                double build = Stopwatch.GetElapsedTime(start).TotalSeconds;
                results.Add("search.build_s", "omnivec", [build], "s", Clone(np, ("index", "hnsw"), ("M", 16), ("ef_construction", BuildExpansion)));
                long rssHnsw = Measure.Rss();
                Measure.Breakdown("hnsw");
                results.Add("search.bytes_per_vector", "omnivec", [(rssHnsw - rss0) / (double)data.N], "bytes", Clone(np, ("index", "hnsw")));
                double target = double.Parse(a.Get("target-recall", "0.99"), CultureInfo.InvariantCulture);
                // Single HNSW queries run on one thread: timed on the CPU every contender's are (QueryCpu).
                int queryCpu = a.Int("query-cpu", -1);
                c.SearchExpansion = TuneExpansion(results, c, data, index, target, Clone(np, ("index", "hnsw"), ("query_cpu", queryCpu)), queryCpu);

                RunQueries(results, c, data, index, SearchMode.Approximate, "hnsw", repeats, batchSize, Clone(np, ("ef_search", c.SearchExpansion)), queryCpu);
                Console.Error.WriteLine($"  bytes per vector after the queries: {(Measure.Rss() - rss0) / (double)data.N:F0}");
                Measure.Breakdown("after queries");

                // The same collection opened again from its files (as `omnivec search` or `serve` would), searched once.
                c.Dispose();
                using Collection reopened = store.Open("bench");
                reopened.SearchExpansion = c.SearchExpansion;
                _ = reopened.Search(data.Query(0), 10, mode: SearchMode.Approximate);
                Console.Error.WriteLine($"  bytes per vector, reopened from its files and searched once: {(Measure.Rss() - rss0) / (double)data.N:F0}");
                Measure.Breakdown("reopened");
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

        private const int BuildExpansion = 128;

        private static readonly int[] ExpansionSteps = [16, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 224, 256, 320, 384, 512, 640, 768, 1024];

        /// <summary>The data set row of a hit, read from its path ("v" + row).</summary>
        private sealed class RowOfItem
        {
            public int this[CollectionItem item] => int.Parse(item.Path.AsSpan(1), CultureInfo.InvariantCulture);
        }

        /// <summary>A small collection opened, filled, searched exactly, given a graph, searched through it, deleted.</summary>
        private static void WarmUp(CollectionStore store, Dataset data)
        {
            const int N = 256;
            using (Collection w = store.OpenOrCreate("warmup", new EmbeddingSpace("local", "synthetic", "1", data.Dim)))
            {
                var items = new CollectionItem[N];
                var vectors = new ReadOnlyMemory<float>[N];
                for (int i = 0; i < N; i++)
                {
                    items[i] = new CollectionItem { Path = "w" + i.ToString(CultureInfo.InvariantCulture), MediaType = "image/jpeg" };
                    vectors[i] = data.Vectors.AsMemory(i * data.Dim, data.Dim);
                }

                w.Upsert(items, vectors);
                _ = w.Search(data.Query(0), 10, mode: SearchMode.Exact);
                w.ApproximateThreshold = 1;
                w.Optimize();
                _ = w.Search(data.Query(0), 10, mode: SearchMode.Approximate);
                _ = w.SearchBatch([data.Query(0), data.Query(1)], 10, mode: SearchMode.Approximate);
            }

            store.Delete("warmup");
        }

        /// <summary>
        /// The smallest ef of <see cref="ExpansionSteps"/> whose recall@10 over the query set reaches <paramref name="target"/>.
        /// Walks the whole ladder and records recall and single-query rate at every step (<c>search.curve_qps</c>), so the
        /// report can set each contender's rate beside the others' at the same ef and at the same recall.
        /// </summary>
        private static int TuneExpansion(Results results, Collection c, Dataset data, RowOfItem index, double target, JsonObject np, int queryCpu)
        {
            // Warm-up: JIT, caches, and the float32 rows each query re-scores. Those are read from the snapshot file
            // through the page cache, and a VM that reclaims idle page cache (this one runs DAMON pageout: pages idle
            // for a minute go) has dropped them since the ingest, so the first pass over the query set reads them from
            // disk; a server answering queries keeps the rows it re-scores cached the same way. One pass over every
            // query, so the ladder's first step is not the cold one (its rate is printed here).
            long warm = Stopwatch.GetTimestamp();
            PassAtFirstStep();
            Console.Error.WriteLine($"  first pass over the queries (ef {ExpansionSteps[0]}, cold rows): {data.Nq / Stopwatch.GetElapsedTime(warm).TotalSeconds:F0} queries/s");

            // A second pass, still on every CPU, so the JIT's background recompilation of the search path (tier 1) is
            // over before the thread is pinned: a JIT thread started while it is pinned would share its one CPU.
            PassAtFirstStep();
            Thread.Sleep(200);
            using QueryCpu pin = QueryCpu.Pin(queryCpu);

            int chosen = 0;
            foreach (int ef in ExpansionSteps)
            {
                int found = 0;
                long ticks = 0;
                for (int q = 0; q < data.Nq; q++)
                {
                    long t = Stopwatch.GetTimestamp();
                    IReadOnlyList<SearchHit> hits = c.Search(data.Query(q), 10, mode: SearchMode.Approximate, expansion: ef);
                    ticks += Stopwatch.GetTimestamp() - t;
                    found += hits.Count(h => data.InTruth(q, index[h.Item]));
                }

                double recall = found / (10.0 * data.Nq);
                double qps = data.Nq / (ticks / (double)Stopwatch.Frequency);
                Console.Error.WriteLine($"  ef {ef}: recall@10 {recall:F4}, {qps:F0} single queries/s");
                results.Add("search.curve_qps", "omnivec", [qps], "queries/s", Clone(np, ("ef_search", ef), ("recall", Math.Round(recall, 4))));
                if (chosen == 0 && found >= target * 10 * data.Nq)
                {
                    chosen = ef;
                }
            }

            return chosen == 0 ? ExpansionSteps[^1] : chosen;

            void PassAtFirstStep()
            {
                for (int q = 0; q < data.Nq; q++)
                {
                    _ = c.Search(data.Query(q), 10, mode: SearchMode.Approximate, expansion: ExpansionSteps[0]);
                }
            }
        }

        /// <summary>
        /// Exact single queries are timed on the first this many queries only: each is one pass over every vector, the
        /// same work whatever the query, and a thousand of them at 1M would take FAISS's flat index a quarter of an hour.
        /// (The whole query set still gives the HNSW figures, whose cost and recall vary from query to query.)
        /// </summary>
        private const int ExactTimedQueries = 100;

        /// <summary>
        /// Times single queries (each query's latency, queries/s over the set, on CPU <paramref name="queryCpu"/> when it
        /// is not negative) and then batches of <paramref name="batchSize"/> on every CPU.
        /// </summary>
        private static void RunQueries(Results results, Collection c, Dataset data, RowOfItem index, SearchMode mode, string name,
            int repeats, int batchSize, JsonObject np, int queryCpu = -1)
        {
            // Single queries: latency of each, queries/s over the set.
            int single = mode == SearchMode.Exact ? Math.Min(ExactTimedQueries, data.Nq) : data.Nq;
            var latencies = new List<double>();
            var qps = new double[repeats];
            int found = 0;
            for (int q = 0; q < Math.Min(10, data.Nq); q++)
            {
                _ = c.Search(data.Query(q), 10, mode: mode); // warm-up
            }

            int gen0Before = GC.CollectionCount(0);
            using (QueryCpu.Pin(queryCpu))
            {
                for (int r = 0; r < repeats; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    for (int q = 0; q < single; q++)
                    {
                        long t = Stopwatch.GetTimestamp();
                        IReadOnlyList<SearchHit> hits = c.Search(data.Query(q), 10, mode: mode);
                        latencies.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                        if (r == 0)
                        {
                            found += hits.Count(h => data.InTruth(q, index[h.Item]));
                        }
                    }

                    qps[r] = single / Stopwatch.GetElapsedTime(t0).TotalSeconds;
                }
            }

            // Gen-0 collections during the timed single queries: the main source of tail latency at sub-millisecond times.
            var p = Clone(np, ("index", name), ("batch", 1), ("queries", single), ("gen0_gcs", GC.CollectionCount(0) - gen0Before), ("query_cpu", queryCpu));
            results.Add("search.qps", "omnivec", qps, "queries/s", p);
            double[] sorted = latencies.Order().ToArray();
            results.Add("search.p50_ms", "omnivec", [sorted[(int)(0.50 * (sorted.Length - 1))]], "ms", (JsonObject)p.DeepClone());
            results.Add("search.p99_ms", "omnivec", [sorted[(int)(0.99 * (sorted.Length - 1))]], "ms", (JsonObject)p.DeepClone());
            // Each query's fastest of the repeats: what the query itself costs, without this VM's interruptions and
            // the collections above (a twin in search_py.py); its p99/p50 is the spread of the work between queries.
            double[] fastest = Enumerable.Range(0, single).Select(q => Enumerable.Range(0, repeats).Min(r => latencies[(r * single) + q])).Order().ToArray();
            results.Add("search.p99_over_p50_fastest", "omnivec",
                [fastest[(int)(0.99 * (fastest.Length - 1))] / fastest[(int)(0.50 * (fastest.Length - 1))]], "ratio", (JsonObject)p.DeepClone());
            results.Add("search.recall_at_10", "omnivec", [found / (10.0 * single)], "fraction", Clone(np, ("index", name)));

            // Batched: the same queries in groups of batchSize through SearchBatch.
            var batches = new List<ReadOnlyMemory<float>[]>();
            for (int q = 0; q < data.Nq; q += batchSize)
            {
                batches.Add(Enumerable.Range(q, Math.Min(batchSize, data.Nq - q)).Select(i => (ReadOnlyMemory<float>)data.Query(i)).ToArray());
            }

            double[] s = Measure.Seconds(repeats, () =>
            {
                foreach (ReadOnlyMemory<float>[] b in batches)
                {
                    _ = c.SearchBatch(b, 10, mode: mode);
                }
            });
            results.Add("search.qps", "omnivec", s.Select(x => data.Nq / x).ToArray(), "queries/s", Clone(np, ("index", name), ("batch", batchSize), ("queries", data.Nq)));
        }

        internal static JsonObject Clone(JsonObject o, params (string Key, JsonNode? Value)[] extra)
        {
            var copy = (JsonObject)o.DeepClone();
            foreach ((string k, JsonNode? v) in extra)
            {
                copy[k] = v;
            }

            return copy;
        }
    }

    /// <summary>The shared synthetic vectors written by bench/py/gen_vectors.py (raw little-endian float32).</summary>
    internal sealed class Dataset
    {
        public required int N { get; init; }
        public required int Dim { get; init; }
        public required int Nq { get; init; }
        public required float[] Vectors { get; init; }
        public required float[] Queries { get; init; }
        public required int[] Truth { get; init; }
        public required int TruthK { get; init; }

        public float[] Query(int q) => Queries.AsSpan(q * Dim, Dim).ToArray();

        public bool InTruth(int q, int row) => Truth.AsSpan(q * TruthK, 10).Contains(row);

        /// <summary>Upserts every vector, 10,000 per transaction, as a JPEG item at <paramref name="pathOf"/>(row); returns the ids by row.</summary>
        public long[] UpsertInto(Collection c, Func<int, string> pathOf)
        {
            const int chunk = 10_000;
            var ids = new long[N];
            for (int i = 0; i < N; i += chunk)
            {
                int count = Math.Min(chunk, N - i);
                var items = new CollectionItem[count];
                var vectors = new ReadOnlyMemory<float>[count];
                for (int j = 0; j < count; j++)
                {
                    items[j] = new CollectionItem { Path = pathOf(i + j), MediaType = "image/jpeg" };
                    vectors[j] = Vectors.AsMemory((i + j) * Dim, Dim);
                }

                IReadOnlyList<long> got = c.Upsert(items, vectors);
                for (int j = 0; j < count; j++)
                {
                    ids[i + j] = got[j];
                }
            }

            return ids;
        }

        public static Dataset Load(string dir, int n)
        {
            JsonNode meta = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "meta.json")))!;
            int dim = (int)meta["dim"]!;
            int nq = (int)meta["nq"]!;
            int k = (int)meta["k"]!;
            n = n > 0 ? n : (int)meta["n"]!;
            return new Dataset
            {
                N = n,
                Dim = dim,
                Nq = nq,
                Vectors = ReadFloats(Path.Combine(dir, "vectors.f32"), (long)n * dim),
                Queries = ReadFloats(Path.Combine(dir, "queries.f32"), (long)nq * dim),
                Truth = ReadInts(Path.Combine(dir, $"truth_{n}.i32"), nq * k),
                TruthK = k,
            };
        }

        private static float[] ReadFloats(string path, long count)
        {
            var result = new float[count];
            using FileStream f = File.OpenRead(path);
            f.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }

        private static int[] ReadInts(string path, int count)
        {
            var result = new int[count];
            using FileStream f = File.OpenRead(path);
            f.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }
    }

    /// <summary>Fills a store the way `omnivec index` would leave it (vectors, HNSW graph, recorded model) for the CLI cold-start timing.</summary>
    internal static class ColdStart
    {
        public static int Run(Args a)
        {
            string model = Path.GetFullPath(a.Get("model"));
            var data = Dataset.Load(a.Get("data"), a.Int("n", 0));
            EmbeddingSpace space;
            using (var generator = ClipEmbeddingGenerator.Load(model, new ClipModelOptions { IntraOpThreads = 2 }))
            {
                space = generator.Space;
            }

            if (space.Dimensions != data.Dim)
            {
                throw new InvalidOperationException($"model gives {space.Dimensions}-d vectors but the data is {data.Dim}-d");
            }

            string root = a.Get("store");
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }

            var store = new CollectionStore(root);
            using Collection c = store.OpenOrCreate("cold", space);
            _ = data.UpsertInto(c, i => "/photos/img" + i.ToString(CultureInfo.InvariantCulture) + ".jpg");

            // What the CLI records after `omnivec index`, so that `omnivec search` finds the model by itself.
            c.SetIndexState("embedder.provider", "local");
            c.SetIndexState("embedder.model", model);
            c.SetIndexState("embedder.variant", "fp32");
            c.Optimize();
            Console.Error.WriteLine($"cold-start store: {data.N} items, {space} in {root}");
            return 0;
        }
    }
}
