using System.Diagnostics;
using System.Globalization;
using Omnivec.Imaging;
using Omnivec.Onnx;

namespace Omnivec.Bench;

/// <summary>
/// Where the time of an end-to-end image batch goes: per JPEG IDCT scale, decode and preprocess (one thread, ms per image),
/// then the tower alone at the batch size, then whole <c>EmbedImageFiles</c> calls; each with the process's CPU time, so
/// CPU ÷ (wall × threads) shows how much of the machine a step leaves idle.
///   e2eprofile --model DIR --large DIR [--batch 8] [--threads 2] [--repeats 3] [--factors 2,1.5]
/// </summary>
internal static class E2eProfileBench
{
    public static int Run(Args a)
    {
        string modelDir = a.Get("model");
        int threads = a.Int("threads", 2);
        int repeats = a.Int("repeats", 3);
        int batch = a.Int("batch", 8);
        string[] files = Directory.GetFiles(a.Get("large")).Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray();
        double[] factors = a.Get("factors", "2,1.5").Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        byte[][] data = files.Select(File.ReadAllBytes).ToArray();
        var decoder = new ImageDecoder(new ImageDecoderOptions { ReducedDecodeFactor = 0 });
        using var generator = ClipEmbeddingGenerator.Load(modelDir, new ClipModelOptions { IntraOpThreads = threads, MaxBatchSize = batch, DecodeParallelism = threads });
        var pre = generator.Preprocessor;
        float[] tensor = new float[pre.TensorLength];

        Console.Error.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (int den in (int[])[1, 2, 4, 8])
        {
            double dec = 0, prep = 0;
            string size = "";
            for (int i = 0; i < data.Length; i++)
            {
                var dSamples = new List<double>();
                var pSamples = new List<double>();
                for (int r = 0; r < repeats + 1; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    using RgbImage img = decoder.DecodeAtScale(data[i], den);
                    long t1 = Stopwatch.GetTimestamp();
                    pre.Preprocess(img, tensor);
                    long t2 = Stopwatch.GetTimestamp();
                    size = $"{img.Width}x{img.Height}";
                    if (r > 0)
                    {
                        dSamples.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                        pSamples.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
                    }
                }

                dec += dSamples.Order().ElementAt(dSamples.Count / 2);
                prep += pSamples.Order().ElementAt(pSamples.Count / 2);
            }

            Console.Error.WriteLine($"1/{den}: decoded {size}; per image (1 thread, median) decode {dec / data.Length:F1} ms, preprocess {prep / data.Length:F1} ms");
        }

        // The tower alone on already preprocessed 224×224 images (EmbedImages(RgbImage) only normalises them).
        var rng = new Random(1);
        var images = Enumerable.Range(0, batch).Select(_ =>
        {
            RgbImage img = RgbImage.Allocate(pre.OutputWidth, pre.OutputHeight);
            rng.NextBytes(img.Pixels);
            return img;
        }).ToArray();
        Report($"tower alone, batch {batch}", batch, threads, repeats, () => generator.EmbedImages(images));

        string[] chosen = files.Take(batch).ToArray();
        foreach (double f in factors)
        {
            using var g = ClipEmbeddingGenerator.Load(modelDir, new ClipModelOptions
            {
                IntraOpThreads = threads, MaxBatchSize = batch, DecodeParallelism = threads,
                Decoder = new ImageDecoderOptions { ReducedDecodeFactor = f },
            });
            Report($"EmbedImageFiles, factor {f}, {chosen.Length} files in one call", chosen.Length, threads, repeats, () => g.EmbedImageFiles(chosen));
            var single = new ImageDecoder(new ImageDecoderOptions { ReducedDecodeFactor = f });
            Report($"decode + preprocess only, factor {f}, {chosen.Length} files, {threads} threads", chosen.Length, threads, repeats, () =>
                Parallel.For(0, chosen.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
                {
                    float[] t = new float[pre.TensorLength];
                    using RgbImage img = single.DecodeFile(chosen[i], pre.TargetShortSide);
                    pre.Preprocess(img, t);
                }));
        }

        foreach (RgbImage img in images)
        {
            img.Dispose();
        }

        Console.Error.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    /// <summary>
    /// Model-only text throughput by batch size on the load test's texts ("a photo of thing number N on a sunny day"):
    /// how much a larger batch can give the server's dynamic batching.
    ///   textbatches --model DIR [--batches 1,8,16,32,64] [--items 64] [--threads 2] [--repeats 3]
    /// </summary>
    public static int RunTextBatches(Args a)
    {
        string modelDir = a.Get("model");
        int threads = a.Int("threads", 2);
        int repeats = a.Int("repeats", 3);
        int[] batches = a.Ints("batches", "1,8,16,32,64");
        int items = a.Int("items", 64);
        string[] texts = Enumerable.Range(0, items).Select(i => $"a photo of thing number {(i % 64) * 1_000_000 + i / 64} on a sunny day").ToArray();
        using var generator = ClipEmbeddingGenerator.Load(modelDir, new ClipModelOptions { IntraOpThreads = threads, MaxBatchSize = batches.Max() });
        int[] tokens = texts.Select(t => generator.Tokenizer.CountTokens(t)).ToArray();
        Console.Error.WriteLine($"tokens per text: mean {tokens.Average():F1}, max {tokens.Max()} (start and end tokens included)");
        Console.Error.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (int b in batches)
        {
            Report($"texts, batch {b}", items, threads, repeats, () =>
            {
                for (int i = 0; i < items; i += b)
                {
                    generator.EmbedTexts(texts.Skip(i).Take(b).ToArray());
                }
            });
        }

        Console.Error.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    /// <summary>Skia against ImageMagick's libjpeg-turbo on the same JPEGs at 1/8 (one thread): time and pixel differences.</summary>
    public static int RunJpegDecoders(Args a)
    {
        int repeats = a.Int("repeats", 3);
        string[] files = Directory.GetFiles(a.Get("large")).Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray();
        var decoder = new ImageDecoder(new ImageDecoderOptions { ReducedDecodeFactor = 0 });
        Console.Error.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (int den in (int[])[8, 4])
        {
            var skia = new List<double>();
            var magick = new List<double>();
            var magickFast = new List<double>();
            long maxDiff = 0, sumDiff = 0, count = 0;
            foreach (string f in files)
            {
                byte[] data = File.ReadAllBytes(f);
                for (int r = 0; r <= repeats; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    using RgbImage s = decoder.DecodeAtScale(data, den);
                    long t1 = Stopwatch.GetTimestamp();
                    var settings = new ImageMagick.MagickReadSettings { Format = ImageMagick.MagickFormat.Jpeg };
                    settings.SetDefine(ImageMagick.MagickFormat.Jpeg, "size", $"{s.Width}x{s.Height}");
                    using var m = new ImageMagick.MagickImage(data, settings);
                    byte[] px = m.GetPixelsUnsafe().ToByteArray(ImageMagick.PixelMapping.RGB)!;
                    long t2 = Stopwatch.GetTimestamp();
                    settings.SetDefine(ImageMagick.MagickFormat.Jpeg, "fancy-upsampling", "false");
                    using var fast = new ImageMagick.MagickImage(data, settings);
                    _ = fast.GetPixelsUnsafe().ToByteArray(ImageMagick.PixelMapping.RGB);
                    long t3 = Stopwatch.GetTimestamp();
                    if (r > 0)
                    {
                        skia.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                        magick.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
                        magickFast.Add(Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds);
                    }

                    if (r == 0)
                    {
                        if (m.Width != s.Width || m.Height != s.Height)
                        {
                            Console.Error.WriteLine($"  {Path.GetFileName(f)}: Magick {m.Width}x{m.Height}, Skia {s.Width}x{s.Height}");
                            continue;
                        }

                        for (int i = 0; i < px.Length; i++)
                        {
                            int d = Math.Abs(px[i] - s.Pixels[i]);
                            maxDiff = Math.Max(maxDiff, d);
                            sumDiff += d;
                            count++;
                        }
                    }
                }
            }

            Console.Error.WriteLine($"1/{den}: Skia {skia.Order().ElementAt(skia.Count / 2):F1} ms, Magick {magick.Order().ElementAt(magick.Count / 2):F1} ms, Magick without fancy upsampling {magickFast.Order().ElementAt(magickFast.Count / 2):F1} ms per image (median, 1 thread); pixels: max |diff| {maxDiff}, mean {(double)sumDiff / Math.Max(count, 1):F4}");
        }

        Console.Error.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    /// <summary>
    /// Prototype: does overlapping decoding with the tower inside one batch pay? The real call (decode the whole batch on
    /// both cores, then one tower run) against halves: decode the first half on both cores, then run the tower on it while
    /// one thread decodes the second half (at normal priority, or at nice 19 so that it only takes what the tower leaves
    /// idle; the caller finishes whatever is left), then the tower on the second half. Rounds alternate the order.
    ///   overlapproto --model DIR --large DIR [--batch 8] [--rounds 3] [--repeats 3]
    /// </summary>
    public static int RunOverlapPrototype(Args a)
    {
        string modelDir = a.Get("model");
        int batch = a.Int("batch", 8);
        int repeats = a.Int("repeats", 3);
        int rounds = a.Int("rounds", 3);
        string[] files = Directory.GetFiles(a.Get("large")).Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).Take(batch).ToArray();
        using var g = ClipEmbeddingGenerator.Load(modelDir, new ClipModelOptions { IntraOpThreads = 2, MaxBatchSize = batch, DecodeParallelism = 2 });
        var decoder = new ImageDecoder(new ImageDecoderOptions());
        int target = g.Preprocessor.TargetShortSide;

        void Halves(bool nice)
        {
            int half = files.Length / 2;
            var images = new RgbImage?[files.Length];
            Parallel.For(0, half, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => images[i] = decoder.DecodeFile(files[i], target));
            int next = half;
            var worker = new Thread(() =>
            {
                if (nice)
                {
                    _ = SetPriority(0, GetTid(), 19);
                }

                int i;
                while ((i = Interlocked.Increment(ref next) - 1) < files.Length)
                {
                    images[i] = decoder.DecodeFile(files[i], target);
                }
            });
            worker.Start();
            g.EmbedImages(images.Take(half).Select(x => x!).ToArray());
            int j;
            while ((j = Interlocked.Increment(ref next) - 1) < files.Length)
            {
                images[j] = decoder.DecodeFile(files[j], target);
            }

            worker.Join();
            g.EmbedImages(images.Skip(half).Select(x => x!).ToArray());
            foreach (RgbImage? img in images)
            {
                img?.Dispose();
            }
        }

        Console.Error.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}");
        for (int r = 0; r < rounds; r++)
        {
            var variants = new (string Name, Action Body)[]
            {
                ("whole batch: decode, then tower", () => g.EmbedImageFiles(files)),
                ("halves, second half decoded beside the tower", () => Halves(false)),
                ("halves, second half decoded at nice 19 beside the tower", () => Halves(true)),
            };
            foreach ((string name, Action body) in r % 2 == 0 ? variants : variants.Reverse())
            {
                Report($"round {r + 1}: {name}", files.Length, 2, repeats, body);
            }
        }

        Console.Error.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setpriority")]
    private static extern int SetPriority(int which, int who, int prio);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetTid();

    private static void Report(string what, int items, int threads, int repeats, Action body)
    {
        body();
        var walls = new List<double>();
        var cpus = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            TimeSpan c0 = Process.GetCurrentProcess().TotalProcessorTime;
            long t0 = Stopwatch.GetTimestamp();
            body();
            double wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - c0).TotalSeconds;
            walls.Add(wall);
            cpus.Add(cpu);
        }

        double w = walls.Order().ElementAt(walls.Count / 2);
        Console.Error.WriteLine($"{what}: {items / w:F2} items/s (wall {string.Join(" ", walls.Select(x => (x * 1000).ToString("F0", CultureInfo.InvariantCulture)))} ms; CPU ÷ (wall × {threads}) {string.Join(" ", walls.Zip(cpus, (x, c) => (c / (x * threads)).ToString("F2", CultureInfo.InvariantCulture)))})");
    }
}
