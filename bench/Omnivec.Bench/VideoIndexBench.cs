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
        using var generator = ClipEmbeddingGenerator.Load(model, new ClipModelOptions
        {
            IntraOpThreads = threads,
            DecodeParallelism = threads,
            // --onnx-cache DIR: the optimized-model cache the omnivec command uses (default: none, the model file every time).
            OptimizedModelCacheDirectory = a.Get("onnx-cache", "") is { Length: > 0 } cache ? cache : null,
        });
        var segmenterOptions = new VideoSegmenterOptions();
        // Overrides for comparing settings in one session (defaults: the library's).
        segmenterOptions.FramesPerSegment = a.Int("frames-per-segment", segmenterOptions.FramesPerSegment);
        segmenterOptions.FrameShortSide = a.Int("short-side", segmenterOptions.FrameShortSide);
        var embedder = new VideoEmbedder(generator, new VideoSegmenter(segmenterOptions));
        VideoInfo info = new VideoReader().ProbeAsync(video).GetAwaiter().GetResult();

        // --phases 1: where the time goes, each part timed on its own before the pipeline (which then runs with the
        // image tower already loaded): the tower's load, and decoding with shot detection and no embedding.
        bool phases = a.Int("phases", 0) == 1;
        double? loadSeconds = null, segmentOnlySeconds = null;
        Cpu cpuBefore, segmentOnlyCpu = default;
        if (phases)
        {
            var load = Stopwatch.StartNew();
            generator.EnsureVisionLoaded();
            loadSeconds = load.Elapsed.TotalSeconds;
            cpuBefore = Cpu.Now();
            var segmentOnly = Stopwatch.StartNew();
            int count = 0;
            foreach (VideoSegment segment in embedder.Segmenter.SegmentAsync(video, info).ToBlockingEnumerable())
            {
                segment.Dispose();
                count++;
            }

            segmentOnlySeconds = segmentOnly.Elapsed.TotalSeconds;
            segmentOnlyCpu = Cpu.Now() - cpuBefore;
            Console.Error.WriteLine($"  phases     image tower load {loadSeconds:0.00} s; decode + shot detection alone {segmentOnlySeconds:0.00} s ({info.DurationSec / segmentOnlySeconds:0.0}x real time, {count} segments; CPU {segmentOnlyCpu.Self:0.0} s self + {segmentOnlyCpu.Children:0.0} s ffmpeg)");
        }

        if (!phases)
        {
            // The image tower is loaded before the clock starts, as the Python pipeline builds its model before its clock
            // and as `omnivec index` loads it once per run, not once per video; its load time is reported apart.
            var load = Stopwatch.StartNew();
            generator.EnsureVisionLoaded();
            loadSeconds = load.Elapsed.TotalSeconds;
        }

        cpuBefore = Cpu.Now();
        if (a.Int("parts", 0) == 1)
        {
            Parts(embedder.Segmenter, video, info);
        }

        var clock = Stopwatch.StartNew();
        IReadOnlyList<VideoSegmentVector> segments = embedder.EmbedAllAsync(video).GetAwaiter().GetResult();
        double seconds = clock.Elapsed.TotalSeconds;
        Cpu pipelineCpu = Cpu.Now() - cpuBefore;

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
            ["model_warm"] = true,
            // CPU seconds (user + system): this process, and the ffmpeg children it waited for.
            ["cpu_self_s"] = Math.Round(pipelineCpu.Self, 2),
            ["cpu_ffmpeg_s"] = Math.Round(pipelineCpu.Children, 2),
            ["segment_only_cpu_self_s"] = phases ? Math.Round(segmentOnlyCpu.Self, 2) : null,
            ["segment_only_cpu_ffmpeg_s"] = phases ? Math.Round(segmentOnlyCpu.Children, 2) : null,
        };
        File.WriteAllText(a.Get("out"), result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.Error.WriteLine($"  omnivec    video {Path.GetFileName(video)}: {seconds:0.0} s for {info.DurationSec:0} s ({info.DurationSec / seconds:0.00}x real time), {segments.Count} segments, peak {peak / 1048576.0:0} MB, CPU {pipelineCpu.Self:0.0} s self + {pipelineCpu.Children:0.0} s ffmpeg, cuts {hits}/{cuts.Length} found, {found.Length - trueFound} false");
        return 0;
    }

    /// <summary>
    /// <c>--parts 1</c>: the reading side taken apart, each timed alone (wall and CPU): frames read from ffmpeg and
    /// dropped; the same with the content score; the content score alone on frames already in memory.
    /// </summary>
    private static void Parts(VideoSegmenter segmenter, string video, VideoInfo info)
    {
        VideoSegmenterOptions o = segmenter.Options;
        double fps = info.FrameRate > 0 ? Math.Min(o.AnalysisFps, info.FrameRate) : o.AnalysisFps;
        var kept = new List<RgbImage>();
        foreach (bool score in new[] { false, false, true, false, true })
        {
            var detector = new ContentDetector();
            Cpu before = Cpu.Now();
            var clock = Stopwatch.StartNew();
            int n = 0;
            foreach (VideoFrame frame in segmenter.Reader.ReadFramesAsync(video, info, fps, o.FrameShortSide).ToBlockingEnumerable())
            {
                if (score)
                {
                    detector.Score(frame.Image);
                }

                if (!score && kept.Count < 64)
                {
                    var copy = RgbImage.Allocate(frame.Image.Width, frame.Image.Height);
                    frame.Image.Pixels.CopyTo(copy.Pixels);
                    kept.Add(copy);
                }

                frame.Dispose();
                n++;
            }

            Cpu cpu = Cpu.Now() - before;
            Console.Error.WriteLine($"  parts      read{(score ? " + score" : "")}: {clock.Elapsed.TotalSeconds:0.00} s, {n} frames, CPU {cpu.Self:0.00} s self + {cpu.Children:0.00} s ffmpeg");
        }

        {
            var detector = new ContentDetector();
            Cpu before = Cpu.Now();
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < 1200; i++)
            {
                detector.Score(kept[i % kept.Count]);
            }

            Cpu cpu = Cpu.Now() - before;
            Console.Error.WriteLine($"  parts      score alone, 1200 frames in memory: {clock.Elapsed.TotalSeconds:0.00} s, CPU {cpu.Self:0.00} s");
        }

        foreach (RgbImage image in kept)
        {
            image.Dispose();
        }

        (int w, int h) = VideoReader.ScaledSize(info.DisplayWidth, info.DisplayHeight, o.FrameShortSide);
        foreach ((bool sync, bool bigPipe) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (string arg in new[] { "-nostdin", "-v", "error", "-i", video, "-an", "-vf", $"fps={fps},scale={w}:{h}:flags=area,setsar=1", "-pix_fmt", "gbrp", "-f", "rawvideo", "pipe:1" })
            {
                psi.ArgumentList.Add(arg);
            }

            Cpu before = Cpu.Now();
            var clock = Stopwatch.StartNew();
            using Process p = Process.Start(psi)!;
            Stream output = p.StandardOutput.BaseStream;
            string type = output.GetType().Name;
            if (bigPipe && output is System.IO.Pipes.PipeStream pipe)
            {
                int r = Fcntl((int)pipe.SafePipeHandle.DangerousGetHandle(), 1031, 1 << 20);
                type += $" F_SETPIPE_SZ={r}";
            }

            byte[] buffer = new byte[w * h * 3];
            int n = 0;
            while ((sync ? output.ReadAtLeast(buffer, buffer.Length, false) : output.ReadAtLeastAsync(buffer, buffer.Length, false).AsTask().GetAwaiter().GetResult()) == buffer.Length)
            {
                n++;
            }

            p.WaitForExit();
            Cpu cpu = Cpu.Now() - before;
            Console.Error.WriteLine($"  parts      raw {(sync ? "sync" : "async")} {type}: {clock.Elapsed.TotalSeconds:0.00} s, {n} frames, CPU {cpu.Self:0.00} s self + {cpu.Children:0.00} s ffmpeg");
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int cmd, int arg);

    /// <summary>CPU seconds (user + system) of this process and of its waited-for children, from /proc/self/stat.</summary>
    private readonly record struct Cpu(double Self, double Children)
    {
        public static Cpu Now()
        {
            string stat = File.ReadAllText("/proc/self/stat");
            // Fields after the ") " that closes the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
            string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            double tick = 100.0;
            double F(int field) => double.Parse(f[field - 3], CultureInfo.InvariantCulture) / tick;
            return new Cpu(F(14) + F(15), F(16) + F(17));
        }

        public static Cpu operator -(Cpu a, Cpu b) => new(a.Self - b.Self, a.Children - b.Children);
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
