using System.Globalization;
using Omnivec.Media;
using Omnivec.Providers.Google;
using Omnivec.Providers.Tests.Fakes;
using Omnivec.Tests;

namespace Omnivec.Providers.Tests;

/// <summary>
/// Videos longer or larger than one Vertex AI request may carry: split with FFmpeg, each piece sent to a fake that
/// measures what it received with ffprobe, analyses at most its window per request (as the service does) and refuses
/// oversized bodies; the segments must come back as one continuous list in the original video's time.
/// </summary>
public sealed class GoogleVideoSplittingTests : IDisposable
{
    private readonly FakeVertexAIService _fake = new() { ProbeVideos = true };
    private readonly CapturingLogger _log = new();
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-vertex-split-").FullName;
    private readonly string _pieces;

    public GoogleVideoSplittingTests()
    {
        _fake.Start();
        _pieces = Directory.CreateDirectory(Path.Combine(_temp, "pieces")).FullName;
    }

    public void Dispose()
    {
        _fake.Dispose();
        Directory.Delete(_temp, recursive: true);
    }

    private VertexAIEmbeddingGenerator Create(Action<VertexAIOptions>? configure = null)
    {
        VertexAIOptions options = _fake.ClientOptions();
        options.MaxRetries = 0;
        options.VideoTempDirectory = _pieces;
        configure?.Invoke(options);
        return new VertexAIEmbeddingGenerator(options, null, null, _log, _ => null);
    }

    /// <summary>Shots of corpus photos, 10 fps, a keyframe every <paramref name="gop"/> frames and none at the cuts.</summary>
    private string MakeVideo(string name, double seconds, int gop, int width = 160, int height = 120, string crf = "30")
    {
        string[] photos = ["bananas.jpg", "beach_kitesurfing.jpg", "hotdog.jpg", "motel_sign.jpg", "palm_trees_sky.jpg", "espresso_cup.png"];
        int shots = (int)Math.Ceiling(seconds / 10);
        var list = Enumerable.Range(0, shots).Select(i => (photos[i % photos.Length], Math.Min(10, seconds - (i * 10)))).ToList();
        string path = Path.Combine(_temp, name);
        TestVideos.MakeShots(path, list, width, height, fps: 10,
            codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-crf", crf, "-g", gop.ToString(CultureInfo.InvariantCulture), "-keyint_min", gop.ToString(CultureInfo.InvariantCulture), "-sc_threshold", "0"]);
        return path;
    }

    private static double Duration(string path)
    {
        var info = new VideoReader().ProbeAsync(path).GetAwaiter().GetResult();
        return info.DurationSec;
    }

    /// <summary>Continuous from the start, each no longer than the interval, ending at the video's end: absolute times.</summary>
    private static void AssertCovers(IReadOnlyList<VideoSegmentEmbedding> segments, double start, double end, int interval)
    {
        Assert.NotEmpty(segments);
        Assert.Equal(start, segments[0].StartOffsetSec, 3);
        for (int i = 1; i < segments.Count; i++)
        {
            Assert.Equal(segments[i - 1].EndOffsetSec, segments[i].StartOffsetSec, 3);
        }

        foreach (VideoSegmentEmbedding s in segments)
        {
            Assert.InRange(s.EndOffsetSec - s.StartOffsetSec, 0.05, interval + 0.001);
            Assert.Equal(1408, s.Embedding.Vector.Length);
        }

        Assert.Equal(end, segments[^1].EndOffsetSec, 1);
    }

    private void AssertCleanedUp()
    {
        Assert.Empty(Directory.EnumerateFileSystemEntries(_pieces));
        Assert.Empty(ChildProcesses.Named("ffmpeg", "ffprobe"));
    }

    [Fact]
    public async Task A_video_longer_than_the_window_is_cut_at_keyframes_and_its_segments_join_in_absolute_time()
    {
        _fake.AnalysedWindowSec = 20;
        string video = MakeVideo("long.mp4", 50, gop: 20); // a keyframe every 2 s
        double duration = Duration(video);
        using var generator = Create(o => o.MaxVideoRequestSec = 20);

        IReadOnlyList<VideoSegmentEmbedding> segments = await generator.GenerateVideoEmbeddingsAsync(video, new VideoSegmentOptions { IntervalSec = 8 });

        AssertCovers(segments, 0, duration, 8);
        // Pieces of 16 s (two whole 8 s segments within the 20 s window) cut where keyframes are, then the last 18 s whole.
        var requests = _fake.VideoRequests.ToArray();
        Assert.Equal(3, requests.Length);
        Assert.All(requests, r => Assert.InRange(r.DurationSec!.Value, 0.5, 20));
        Assert.Equal(duration, requests.Sum(r => r.DurationSec!.Value), 0);
        Assert.Equal([0.0, 8, 16, 24, 32, 40, 48], segments.Select(s => s.StartOffsetSec));
        AssertCleanedUp();
    }

    [Fact]
    public async Task Without_splitting_the_service_analyses_only_its_window()
    {
        // The fake behaves like the service: this is what the splitting is for.
        _fake.AnalysedWindowSec = 20;
        string video = MakeVideo("long.mp4", 30, gop: 20);
        using var generator = Create();

        IReadOnlyList<VideoSegmentEmbedding> whole = await generator.GenerateVideoEmbeddingsAsync(
            new Microsoft.Extensions.AI.DataContent(await File.ReadAllBytesAsync(video), "video/mp4"), new VideoSegmentOptions { IntervalSec = 8 });

        Assert.Equal(20, whole[^1].EndOffsetSec);
    }

    [Fact]
    public async Task A_video_larger_than_one_request_is_split_by_bytes_and_every_request_fits()
    {
        string video = MakeVideo("large.mp4", 30, gop: 10, width: 480, height: 360, crf: "12");
        long size = new FileInfo(video).Length;
        long limit = Math.Max(64 * 1024, size / 3);
        _fake.MaxVideoBytes = limit;
        double duration = Duration(video);
        using var generator = Create(o => o.MaxVideoRequestBytes = limit);

        IReadOnlyList<VideoSegmentEmbedding> segments = await generator.GenerateVideoEmbeddingsAsync(video, new VideoSegmentOptions { IntervalSec = 4 });

        AssertCovers(segments, 0, duration, 4);
        var requests = _fake.VideoRequests.ToArray();
        Assert.True(requests.Length >= 3, $"{requests.Length} requests for {size} bytes with a {limit}-byte limit");
        Assert.All(requests, r => Assert.InRange(r.Bytes, 1, limit));
        Assert.Equal(duration, requests.Sum(r => r.DurationSec!.Value), 0);

        // The whole file in one request is refused as the service refuses an oversized body.
        using var whole = Create(o => o.MaxVideoRequestBytes = 1L << 30);
        var refused = await Assert.ThrowsAsync<EmbeddingServiceException>(() => whole.GenerateVideoEmbeddingsAsync(
            new Microsoft.Extensions.AI.DataContent(File.ReadAllBytes(video), "video/mp4")));
        Assert.Contains("exceeds the limit", refused.Message);
        AssertCleanedUp();
    }

    [Fact]
    public async Task A_video_without_keyframes_inside_the_window_is_re_encoded_into_exact_pieces()
    {
        _fake.AnalysedWindowSec = 20;
        string video = MakeVideo("one-keyframe.mp4", 45, gop: 1000); // one keyframe, at 0
        double duration = Duration(video);
        using var generator = Create(o => o.MaxVideoRequestSec = 20);

        IReadOnlyList<VideoSegmentEmbedding> segments = await generator.GenerateVideoEmbeddingsAsync(video, new VideoSegmentOptions { IntervalSec = 5 });

        AssertCovers(segments, 0, duration, 5);
        var requests = _fake.VideoRequests.ToArray();
        Assert.Equal(3, requests.Length); // 0-20, 20-40, 40-45
        Assert.Equal(20, requests[0].DurationSec!.Value, 0);
        Assert.Equal(20, requests[1].DurationSec!.Value, 0);
        Assert.Equal(9, segments.Count);
        AssertCleanedUp();
    }

    [Fact]
    public async Task A_requested_range_of_a_long_video_is_split_and_kept_to_the_range()
    {
        _fake.AnalysedWindowSec = 20;
        string video = MakeVideo("range.mp4", 60, gop: 20);
        using var generator = Create(o => o.MaxVideoRequestSec = 20);

        IReadOnlyList<VideoSegmentEmbedding> segments = await generator.GenerateVideoEmbeddingsAsync(
            video, new VideoSegmentOptions { StartOffsetSec = 5, EndOffsetSec = 47, IntervalSec = 8 });

        AssertCovers(segments, 5, 47, 8);
        AssertCleanedUp();
    }

    [Fact]
    public async Task A_short_small_video_file_goes_in_one_request_unchanged()
    {
        string video = MakeVideo("short.mp4", 12, gop: 20);
        using var generator = Create();

        IReadOnlyList<VideoSegmentEmbedding> segments = await generator.GenerateVideoEmbeddingsAsync(video, new VideoSegmentOptions { IntervalSec = 4 });

        Assert.Equal([(0d, 4d), (4d, 8d), (8d, 12d)], segments.Select(s => (s.StartOffsetSec, s.EndOffsetSec)));
        Assert.Equal(new FileInfo(video).Length, _fake.VideoRequests.Single().Bytes);
    }

    [Fact]
    public async Task Cancelling_mid_split_kills_ffmpeg_and_leaves_no_piece()
    {
        _fake.AnalysedWindowSec = 20;
        _fake.ResponseDelay = TimeSpan.FromSeconds(30);
        string video = MakeVideo("cancel.mp4", 60, gop: 1000); // every piece re-encoded: the next cut runs while the request waits
        using var generator = Create(o => o.MaxVideoRequestSec = 20);
        using var cts = new CancellationTokenSource();

        Task<IReadOnlyList<VideoSegmentEmbedding>> run = generator.GenerateVideoEmbeddingsAsync(video, new VideoSegmentOptions { IntervalSec = 5 }, cts.Token);
        while (_fake.RequestCount == 0 && !run.IsCompleted)
        {
            await Task.Delay(20);
        }

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        AssertCleanedUp();
    }

    [Fact]
    public async Task Bad_video_files_give_typed_errors_and_limits_are_validated()
    {
        using var generator = Create();
        string text = Path.Combine(_temp, "notes.mp4");
        await File.WriteAllTextAsync(text, "this is not a video at all");
        await Assert.ThrowsAsync<VideoReadException>(() => generator.GenerateVideoEmbeddingsAsync(text));
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateVideoEmbeddingsAsync(Path.Combine(_temp, "missing.mp4")));
        string empty = Path.Combine(_temp, "empty.mp4");
        await File.WriteAllBytesAsync(empty, []);
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateVideoEmbeddingsAsync(empty));
        Assert.Equal(0, _fake.RequestCount);

        Assert.Throws<ModelConfigurationException>(() => Create(o => o.MaxVideoRequestSec = 121));
        Assert.Throws<ModelConfigurationException>(() => Create(o => o.MaxVideoRequestSec = 3));
        Assert.Throws<ModelConfigurationException>(() => Create(o => o.MaxVideoRequestBytes = 1000));
        await Assert.ThrowsAsync<InvalidInputException>(() => Create(o => o.MaxVideoRequestBytes = 64 * 1024)
            .GenerateVideoEmbeddingsAsync(new Microsoft.Extensions.AI.DataContent(new byte[65 * 1024], "video/mp4")));
    }
}

/// <summary>Child processes of this test process by name (from /proc), to prove no FFmpeg outlives its operation.</summary>
internal static class ChildProcesses
{
    public static IReadOnlyList<int> Named(params string[] names)
    {
        var found = new List<int>();
        int self = Environment.ProcessId;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            try
            {
                // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so parse after the last ')'.
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int open = stat.IndexOf('(', StringComparison.Ordinal);
                int close = stat.LastIndexOf(')');
                string comm = stat[(open + 1)..close];
                string[] rest = stat[(close + 2)..].Split(' ');
                if (int.Parse(rest[1], CultureInfo.InvariantCulture) == self && names.Contains(comm) && rest[0] != "Z")
                {
                    found.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
            {
                // The process ended while being read.
            }
        }

        return found;
    }
}
