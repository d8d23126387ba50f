using Omnivec.Tests;

namespace Omnivec.Media.Tests;

[Collection(VideoCollection.Name)]
public sealed class BadInputTests(VideoFixture videos)
{
    [Fact]
    public async Task Zero_length_file_is_a_typed_error()
    {
        string path = videos.File("empty.mp4");
        File.WriteAllBytes(path, []);
        VideoReadException ex = await Assert.ThrowsAsync<VideoReadException>(() => new VideoReader().ProbeAsync(path));
        Assert.Equal(VideoErrorKind.Corrupt, ex.Kind);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task Text_named_mkv_and_random_bytes_are_not_videos()
    {
        string text = videos.File("notes.mkv");
        File.WriteAllText(text, "just some text, not a video\n");
        string noise = videos.File("noise.mp4");
        File.WriteAllBytes(noise, [.. Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7919 % 251))]);
        foreach (string path in new[] { text, noise })
        {
            VideoReadException ex = await Assert.ThrowsAsync<VideoReadException>(() => new VideoReader().ProbeAsync(path));
            Assert.Equal(VideoErrorKind.Unsupported, ex.Kind);
            Assert.StartsWith(path, ex.Message);
        }
    }

    [Fact]
    public async Task Truncated_mp4_is_a_typed_error()
    {
        byte[] whole = File.ReadAllBytes(videos.File("shots.mp4"));
        string path = videos.File("truncated.mp4");
        // x264 output puts the moov box at the end: the first half has no index and cannot be read.
        File.WriteAllBytes(path, whole.AsSpan(0, whole.Length / 2).ToArray());
        VideoReadException ex = await Assert.ThrowsAsync<VideoReadException>(() => Segment(path));
        Assert.Equal(VideoErrorKind.Corrupt, ex.Kind);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task Truncated_webm_keeps_what_decodes()
    {
        byte[] whole = File.ReadAllBytes(videos.File("shots.webm"));
        string path = videos.File("truncated.webm");
        File.WriteAllBytes(path, whole.AsSpan(0, whole.Length / 2).ToArray());
        // Streamable containers decode up to the damage; whatever decodes becomes segments, nothing crashes.
        int count = await Segment(path);
        Assert.InRange(count, 1, 3);
    }

    [Fact]
    public async Task Audio_only_file_says_it_has_no_video_stream()
    {
        string path = videos.File("audio-only.mkv");
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "flac", path]);
        VideoReadException ex = await Assert.ThrowsAsync<VideoReadException>(() => new VideoReader().ProbeAsync(path));
        Assert.Equal(VideoErrorKind.NoVideoStream, ex.Kind);
        Assert.Contains("audio only", ex.Message);
    }

    [Fact]
    public async Task Frames_above_the_pixel_limit_and_videos_above_the_duration_limit_are_refused_before_decoding()
    {
        var small = new VideoReader(new FfmpegOptions { MaxPixels = 320 * 200 });
        VideoReadException large = await Assert.ThrowsAsync<VideoReadException>(() => small.ProbeAsync(videos.File("shots.mp4")));
        Assert.Equal(VideoErrorKind.TooLarge, large.Kind);
        var brief = new VideoReader(new FfmpegOptions { MaxDuration = TimeSpan.FromSeconds(30) });
        VideoReadException longer = await Assert.ThrowsAsync<VideoReadException>(() => brief.ProbeAsync(videos.File("long.mp4")));
        Assert.Equal(VideoErrorKind.TooLong, longer.Kind);
    }

    [Fact]
    public async Task A_huge_frame_video_is_refused_by_the_default_limit_before_decoding()
    {
        // FFmpeg itself refuses 16384x16384 frames (above its INT_MAX/8 picture size check); 10000x10000 is the largest
        // cheap stand-in: one grey PNG frame in Matroska (about 100 MB to make once, 40 kB on disk).
        string path = videos.File("huge.mkv");
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=gray:size=10000x10000:rate=1", "-frames:v", "1", "-c:v", "png", "-pix_fmt", "gray", path]);
        VideoReadException ex = await Assert.ThrowsAsync<VideoReadException>(() => new VideoReader().ProbeAsync(path));
        Assert.Equal(VideoErrorKind.TooLarge, ex.Kind);
        Assert.Contains("10000x10000", ex.Message);
    }

    [Fact]
    public async Task Missing_ffmpeg_is_a_clear_typed_error()
    {
        var reader = new VideoReader(new FfmpegOptions { FfmpegPath = "/nonexistent/ffmpeg", FfprobePath = "/nonexistent/ffprobe" });
        Assert.False(await reader.IsAvailableAsync());
        FfmpegNotFoundException ex = await Assert.ThrowsAsync<FfmpegNotFoundException>(() => reader.ProbeAsync(videos.File("shots.mp4")));
        Assert.Contains("apt-get install ffmpeg", ex.Message);
    }

    [Fact]
    public async Task Cancelling_or_stopping_a_read_leaves_no_ffmpeg_running()
    {
        var started = new List<int>();
        FfmpegProcess.Started = pid => { lock (started) { started.Add(pid); } };
        try
        {
            var reader = new VideoReader();
            VideoInfo info = await reader.ProbeAsync(videos.File("long.mp4"));
            using var cts = new CancellationTokenSource();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (VideoFrame frame in reader.ReadFramesAsync(videos.File("long.mp4"), info, 10, 32, cts.Token))
                {
                    frame.Dispose();
                    await cts.CancelAsync();
                }
            });

            // Stopping early (break) ends ffmpeg too.
            await foreach (VideoFrame frame in reader.ReadFramesAsync(videos.File("long.mp4"), info, 10, 32))
            {
                frame.Dispose();
                break;
            }

            // And a segmenter whose consumer stops mid-video.
            await foreach (VideoSegment segment in new VideoSegmenter(null, reader).SegmentAsync(videos.File("long.mp4")))
            {
                segment.Dispose();
                break;
            }
        }
        finally
        {
            FfmpegProcess.Started = null;
        }

        Assert.True(started.Count >= 4);
        // The hook is static and other test classes run ffmpeg at the same time (audio): only processes reading this
        // test's video count; a killed one may take a moment to be reaped.
        string video = videos.File("long.mp4");
        foreach (int pid in started)
        {
            bool Ours() => Describe(pid).Contains(video, StringComparison.Ordinal);
            for (int i = 0; i < 50 && Ours() && IsRunning(pid); i++)
            {
                await Task.Delay(100);
            }

            Assert.False(Ours() && IsRunning(pid), $"process {pid} is still running: {Describe(pid)}");
        }
    }

    /// <summary>A process that exists and is not a zombie (a zombie has exited; its parent has just not reaped it yet).</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            string status = File.ReadAllText($"/proc/{pid}/status");
            return !status.Contains("State:\tZ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string Describe(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ') + " / " + File.ReadAllLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("State", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return "gone";
        }
    }

    private static async Task<int> Segment(string path)
    {
        int count = 0;
        await foreach (VideoSegment segment in new VideoSegmenter().SegmentAsync(path))
        {
            segment.Dispose();
            count++;
        }

        return count;
    }
}
