using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnivec.Media;
using Omnivec.Onnx;
using Omnivec.Preprocessing;

namespace Omnivec.Bench;

/// <summary>
/// <c>audioindex</c>: how fast a recording is indexed with a CLAP model, as a multiple of real time: the whole pipeline
/// (FFmpeg decode, features, the audio tower, window by window as <c>omnivec index</c> does) and the features alone, for
/// bench/py/audio_torch.py's Python pipeline to stand beside.
/// <code>audioindex --model DIR --audio FILE [--repeats 3] [--threads 2] [--batch 8] --out FILE [--check FILE]</code>
/// <c>audiolong</c>: a long recording (default 10 hours, generated once as FLAC: silence then a tone) streamed through
/// the model end to end: wall time, windows, peak managed heap and peak RSS (FFmpeg's limit raised above its length).
/// <code>audiolong [--model DIR] [--hours 10] [--dir DIR] --out FILE</code>
/// </summary>
internal static class AudioIndexBench
{
    public static int Run(Args a)
    {
        string model = a.Get("model");
        string audio = a.Get("audio");
        int repeats = a.Int("repeats", 3);
        int threads = a.Int("threads", 2);
        int batch = a.Int("batch", 8);
        string? check = a.Get("check", "");
        var results = new Results();
        using var clap = ClapEmbeddingGenerator.Load(model, new ClapModelOptions { IntraOpThreads = threads, MaxBatchSize = batch });
        var reader = new AudioReader();
        AudioInfo info = reader.ProbeAsync(audio).GetAwaiter().GetResult();
        ClapFeatureSettings s = clap.Features.Settings;
        List<AudioWindow> windows = Collect(reader.ReadWindowsAsync(audio, info, s.SamplingRate, s.MaxSamples, s.MaxSamples));
        double seconds = windows[^1].EndSec;
        var p = new Func<JsonObject>(() => new JsonObject
        {
            ["model"] = Path.GetFileName(Path.GetFullPath(model).TrimEnd('/')),
            ["audio_sec"] = Math.Round(seconds, 2),
            ["windows"] = windows.Count,
            ["codec"] = info.Codec,
            ["threads"] = threads,
            ["batch"] = batch,
        });

        // The whole pipeline, as indexing runs it: decode, cut, features, the model, batch by batch.
        List<AudioSegmentEmbedding>? last = null;
        double[] whole = Measure.Seconds(repeats, () => last = Collect(clap.EmbedAudioFileAsync(audio)));
        results.Add("audio.index_x_realtime", "omnivec", [.. whole.Select(t => seconds / t)], "x realtime", p());
        results.Add("audio.index_s", "omnivec", whole, "s", p());

        // Features alone on the decoded windows.
        var extractor = clap.Features;
        float[] features = new float[extractor.FeatureLength];
        double[] feat = Measure.Seconds(repeats, () =>
        {
            foreach (AudioWindow w in windows)
            {
                extractor.Extract(w.Samples, features);
            }
        });
        results.Add("audio.features_x_realtime", "omnivec", [.. feat.Select(t => seconds / t)], "x realtime", p());
        results.Add("audio.features_ms_per_window", "omnivec", [.. feat.Select(t => 1000 * t / windows.Count)], "ms", p());
        results.Write(a.Get("out"));

        if (check is { Length: > 0 })
        {
            // Embeddings and the first window's features, for the report's check against the Python pipeline.
            extractor.Extract(windows[0].Samples, features);
            var json = new JsonObject
            {
                ["starts"] = new JsonArray([.. last!.Select(w => (JsonNode)Math.Round(w.StartSec, 3))]),
                ["embeddings"] = new JsonArray([.. last!.Select(w => (JsonNode)new JsonArray([.. w.Embedding.Vector.ToArray().Select(v => (JsonNode)v)]))]),
                ["features0"] = new JsonArray([.. features.Select(v => (JsonNode)v)]),
            };
            File.WriteAllText(check, json.ToJsonString());
        }

        return 0;
    }

    public static int RunLong(Args a)
    {
        string model = a.Get("model", Path.Combine("tests", "fixtures", "models", "tiny-clap-hf"));
        double hours = double.Parse(a.Get("hours", "10"), CultureInfo.InvariantCulture);
        string dir = a.Get("dir", Path.Combine("bench", "out", "audiolong"));
        Directory.CreateDirectory(dir);
        int silent = (int)Math.Round(hours * 3600) - 5;
        string path = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"long-{hours:0.##}h.flac"));
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"generating {path}");
            Ffmpeg.Run(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", $"anullsrc=r=48000:cl=mono:d={silent}",
                "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=5", "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1",
                "-c:a", "flac", "-compression_level", "0", path + ".tmp.flac"]);
            File.Move(path + ".tmp.flac", path);
        }

        using var clap = ClapEmbeddingGenerator.Load(model, new ClapModelOptions
        {
            IntraOpThreads = a.Int("threads", 2),
            Ffmpeg = new FfmpegOptions { MaxDuration = TimeSpan.FromHours(hours + 1) },
        });
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peakHeap = baseline;
        int windows = 0;
        double end = 0;
        var clock = Stopwatch.StartNew();
        IAsyncEnumerator<AudioSegmentEmbedding> e = clap.EmbedAudioFileAsync(path).GetAsyncEnumerator();
        try
        {
            while (e.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                end = e.Current.EndSec;
                if (++windows % 50 == 0)
                {
                    peakHeap = Math.Max(peakHeap, GC.GetGCMemoryInfo().HeapSizeBytes);
                }
            }
        }
        finally
        {
            e.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        double elapsed = clock.Elapsed.TotalSeconds;
        long peakRss = PeakRss();
        var p = new JsonObject
        {
            ["model"] = Path.GetFileName(Path.GetFullPath(model).TrimEnd('/')),
            ["audio_sec"] = Math.Round(end, 2),
            ["windows"] = windows,
            ["file_bytes"] = new FileInfo(path).Length,
            ["decoded_bytes"] = (long)(end * 48_000 * 4),
            ["peak_heap_mb"] = Math.Round(peakHeap / 1e6, 1),
            ["baseline_heap_mb"] = Math.Round(baseline / 1e6, 1),
            ["peak_rss_mb"] = Math.Round(peakRss / 1e6, 1),
        };
        var results = new Results();
        results.Add("audio.long_x_realtime", "omnivec", [end / elapsed], "x realtime", p);
        results.Add("audio.long_s", "omnivec", [elapsed], "s", (JsonObject)p.DeepClone());
        results.Write(a.Get("out"));
        return 0;
    }

    private static long PeakRss()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    /// <summary>Drains an async stream synchronously (the bench measures one thing at a time).</summary>
    internal static List<T> Collect<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        IAsyncEnumerator<T> e = source.GetAsyncEnumerator();
        try
        {
            while (e.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                list.Add(e.Current);
            }
        }
        finally
        {
            e.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        return list;
    }
}
