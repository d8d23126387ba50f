using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnivec.Media;
using Omnivec.Onnx;

namespace Omnivec.Bench;

/// <summary>
/// <c>videoindex --model DIR --video FILE --cuts FILE --threads T --out FILE</c>: Omnivec's video pipeline on one file,
/// as <c>omnivec index</c> runs it (probe, decode at the analysis rate, shot detection, frames sampled per segment,
/// embedded with the local CLIP model and pooled), timed from the first call to the last vector, in a fresh process so
/// its peak memory (VmHWM, this process; FFmpeg's is reported apart by the caller) belongs to this video alone.
/// The known cut times (one per line) give shot-detection precision and recall within 0.25 s.
/// </summary>
internal static class VideoIndexBench
{
    public static int Run(Args a)
    {
        string model = a.Get("model");
        string video = a.Get("video");
        int threads = a.Int("threads", 2);
        double[] cuts = File.ReadAllLines(a.Get("cuts")).Where(l => l.Length > 0).Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        using var generator = ClipEmbeddingGenerator.Load(model, new ClipModelOptions { IntraOpThreads = threads, DecodeParallelism = threads });
        var segmenterOptions = new VideoSegmenterOptions();
        var embedder = new VideoEmbedder(generator, new VideoSegmenter(segmenterOptions));
        VideoInfo info = new VideoReader().ProbeAsync(video).GetAwaiter().GetResult();

        // --phases 1: where the time goes, each part timed on its own before the pipeline (which then runs with the
        // image tower already loaded): the tower's load, and decoding with shot detection and no embedding.
        bool phases = a.Int("phases", 0) == 1;
        double? loadSeconds = null, segmentOnlySeconds = null;
        if (phases)
        {
            var load = Stopwatch.StartNew();
            generator.EnsureVisionLoaded();
            loadSeconds = load.Elapsed.TotalSeconds;
            var segmentOnly = Stopwatch.StartNew();
            int count = 0;
            foreach (VideoSegment segment in embedder.Segmenter.SegmentAsync(video, info).ToBlockingEnumerable())
            {
                segment.Dispose();
                count++;
            }

            segmentOnlySeconds = segmentOnly.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"  phases     image tower load {loadSeconds:0.00} s; decode + shot detection alone {segmentOnlySeconds:0.00} s ({info.DurationSec / segmentOnlySeconds:0.0}x real time, {count} segments)");
        }

        var clock = Stopwatch.StartNew();
        IReadOnlyList<VideoSegmentVector> segments = embedder.EmbedAllAsync(video).GetAwaiter().GetResult();
        double seconds = clock.Elapsed.TotalSeconds;

        double[] found = segments.Where(s => s.StartsAtCut).Select(s => s.StartSec).ToArray();
        int hits = cuts.Count(c => found.Any(f => Math.Abs(f - c) <= 0.25));
        int trueFound = found.Count(f => cuts.Any(c => Math.Abs(f - c) <= 0.25));
        double meanError = cuts.Select(c => found.Length == 0 ? double.NaN : found.Min(f => Math.Abs(f - c))).Where(e => e <= 0.25).DefaultIfEmpty(double.NaN).Average();
        long peak = PeakResidentBytes();
        int frames = segments.Count * segmenterOptions.FramesPerSegment;
        var result = new JsonObject
        {
            ["video"] = Path.GetFileName(video),
            ["duration_s"] = Math.Round(info.DurationSec, 3),
            ["width"] = info.Width,
            ["height"] = info.Height,
            ["fps"] = Math.Round(info.FrameRate, 3),
            ["seconds"] = Math.Round(seconds, 3),
            ["x_realtime"] = Math.Round(info.DurationSec / seconds, 3),
            ["segments"] = segments.Count,
            ["frames_embedded"] = frames,
            ["analysis_fps"] = segmenterOptions.AnalysisFps,
            ["frame_short_side"] = segmenterOptions.FrameShortSide,
            ["frames_per_segment"] = segmenterOptions.FramesPerSegment,
            ["cuts_known"] = cuts.Length,
            ["cuts_found"] = found.Length,
            ["cuts_hit"] = hits,
            ["precision"] = found.Length == 0 ? 0 : Math.Round((double)trueFound / found.Length, 4),
            ["recall"] = cuts.Length == 0 ? 1 : Math.Round((double)hits / cuts.Length, 4),
            ["mean_cut_error_s"] = double.IsNaN(meanError) ? null : JsonValue.Create(Math.Round(meanError, 4)),
            ["peak_rss_mb"] = Math.Round(peak / 1048576.0, 1),
            ["threads"] = threads,
            ["vision_load_s"] = loadSeconds is double l ? Math.Round(l, 3) : null,
            ["segment_only_s"] = segmentOnlySeconds is double o ? Math.Round(o, 3) : null,
            ["model_warm"] = phases,
        };
        File.WriteAllText(a.Get("out"), result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.Error.WriteLine($"  omnivec    video {Path.GetFileName(video)}: {seconds:0.0} s for {info.DurationSec:0} s ({info.DurationSec / seconds:0.00}x real time), {segments.Count} segments, peak {peak / 1048576.0:0} MB, cuts {hits}/{cuts.Length} found, {found.Length - trueFound} false");
        return 0;
    }

    /// <summary>VmHWM of this process: its peak resident set.</summary>
    private static long PeakResidentBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
