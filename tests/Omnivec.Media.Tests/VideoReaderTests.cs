using Omnivec.Tests;

namespace Omnivec.Media.Tests;

[Collection(VideoCollection.Name)]
public sealed class VideoReaderTests(VideoFixture videos)
{
    [Theory]
    [InlineData(".mp4", "video/mp4", "h264")]
    [InlineData(".webm", "video/webm", "vp8")]
    [InlineData(".mov", "video/quicktime", "mjpeg")]
    public async Task Probe_reads_duration_rate_size_and_codec(string ext, string mediaType, string codec)
    {
        VideoInfo info = await new VideoReader().ProbeAsync(videos.File("shots" + ext));
        Assert.Equal(mediaType, info.MediaType);
        Assert.Equal(codec, info.VideoCodec);
        Assert.Equal(320, info.Width);
        Assert.Equal(240, info.Height);
        Assert.Equal(0, info.Rotation);
        Assert.InRange(info.DurationSec, 5.4, 5.6);
        Assert.InRange(info.FrameRate, 29.9, 30.1);
        Assert.Null(info.AudioCodec);
    }

    [Fact]
    public async Task Rotated_video_reports_rotation_and_frames_come_out_upright()
    {
        var reader = new VideoReader();
        VideoInfo upright = await reader.ProbeAsync(videos.File("portrait.mp4"));
        VideoInfo rotated = await reader.ProbeAsync(videos.File("rotated.mp4"));
        Assert.Equal((320, 180), (rotated.Width, rotated.Height));
        Assert.Equal(90, rotated.Rotation);
        Assert.Equal((180, 320), (rotated.DisplayWidth, rotated.DisplayHeight));

        using VideoFrame a = await FirstFrame(reader, videos.File("portrait.mp4"), upright);
        using VideoFrame b = await FirstFrame(reader, videos.File("rotated.mp4"), rotated);
        Assert.Equal((a.Image.Width, a.Image.Height), (b.Image.Width, b.Image.Height));
        Assert.True(a.Image.Height > a.Image.Width);
        // Same picture, same way up: small differences from the extra encode only.
        Assert.True(MeanAbsDiff(a, b) < 12, $"mean difference {MeanAbsDiff(a, b):0.0}");
    }

    [Fact]
    public async Task Frames_are_sampled_by_time_at_reduced_size()
    {
        var reader = new VideoReader();
        VideoInfo info = await reader.ProbeAsync(videos.File("shots.mp4"));
        var times = new List<double>();
        await foreach (VideoFrame frame in reader.ReadFramesAsync(videos.File("shots.mp4"), info, 4, 120))
        {
            using (frame)
            {
                Assert.Equal((160, 120), (frame.Image.Width, frame.Image.Height));
                times.Add(frame.TimestampSec);
            }
        }

        Assert.InRange(times.Count, 21, 23);
        Assert.Equal(0, times[0]);
        Assert.Equal(0.25, times[1] - times[0], 6);
    }

    [Theory]
    [InlineData("shots.mp4", 101)] // 135 × 101: a width that is no multiple of 16, so the interleave's scalar tail runs
    [InlineData("shots.webm", 120)]
    [InlineData("rotated.mp4", 96)]
    public async Task Frames_are_FFmpegs_pixels_in_RGB_order(string name, int shortSide)
    {
        // The reader asks FFmpeg for planar frames (G, B, R planes) and interleaves them itself: every frame must be
        // FFmpeg's output for the same filter, pixel for pixel, with R, G and B where RgbImage says they are.
        var reader = new VideoReader();
        string path = videos.File(name);
        VideoInfo info = await reader.ProbeAsync(path);
        (int w, int h) = VideoReader.ScaledSize(info.DisplayWidth, info.DisplayHeight, shortSide);
        string planar = videos.File(name + $".{shortSide}.gbrp");
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-i", path, "-an", "-vf", $"fps=3,scale={w}:{h}:flags=area,setsar=1",
            "-pix_fmt", "gbrp", "-f", "rawvideo", planar]);
        byte[] expected = File.ReadAllBytes(planar);
        int pixels = w * h, frames = 0;
        await foreach (VideoFrame frame in reader.ReadFramesAsync(path, info, 3, shortSide))
        {
            using (frame)
            {
                Assert.Equal((w, h), (frame.Image.Width, frame.Image.Height));
                int plane = frames * pixels * 3;
                byte[] rgb = frame.Image.Pixels.ToArray();
                for (int p = 0; p < pixels; p++)
                {
                    (byte r, byte g, byte b) = (expected[plane + 2 * pixels + p], expected[plane + p], expected[plane + pixels + p]);
                    if ((rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]) != (r, g, b))
                    {
                        Assert.Fail($"frame {frames}, pixel {p}: ({rgb[3 * p]}, {rgb[3 * p + 1]}, {rgb[3 * p + 2]}), FFmpeg ({r}, {g}, {b})");
                    }
                }

                frames++;
            }
        }

        Assert.True(frames > 2);
        Assert.Equal(expected.Length, frames * pixels * 3);
    }

    [Fact]
    public async Task A_consumer_slower_than_the_stall_timeout_still_gets_every_frame()
    {
        // The stall clock measures ffmpeg's silence, not the time the consumer spends on a frame (a slow cloud embedder).
        // A stall timeout ffmpeg meets easily even on a loaded machine, and a pause well beyond it.
        var reader = new VideoReader(new FfmpegOptions { StallTimeout = TimeSpan.FromSeconds(4) });
        VideoInfo info = await reader.ProbeAsync(videos.File("shots.mp4"));
        int count = 0;
        await foreach (VideoFrame frame in reader.ReadFramesAsync(videos.File("shots.mp4"), info, 4, 120))
        {
            using (frame)
            {
                if (count++ == 1)
                {
                    await Task.Delay(TimeSpan.FromSeconds(9));
                }
            }
        }

        Assert.InRange(count, 21, 23);
    }

    [Theory]
    [InlineData("mp4", "video/mp4")]
    [InlineData("mov", "video/quicktime")]
    [InlineData("m4v", "video/x-m4v")]
    [InlineData("mkv", "video/x-matroska")]
    [InlineData("webm", "video/webm")]
    [InlineData("avi", "video/x-msvideo")]
    [InlineData("ts", "video/mp2t")]
    [InlineData("3gp", "video/3gpp")]
    [InlineData("mpg", "video/mpeg")]
    public async Task Containers_are_recognised_by_content_not_name(string format, string mediaType)
    {
        string path = videos.File("sniff." + format);
        string[] codec = format switch
        {
            "webm" => ["-c:v", "libvpx", "-deadline", "realtime"],
            "avi" or "3gp" or "mkv" => ["-c:v", "mpeg4"],
            "mpg" => ["-c:v", "mpeg2video"],
            _ => ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
        };
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=176x144:rate=10", "-t", "1", .. codec, path]);
        // Renamed: the extension must not matter.
        string renamed = videos.File("sniffed-" + format + ".bin");
        File.Copy(path, renamed, overwrite: true);
        Assert.Equal(mediaType, VideoSniffer.SniffFile(renamed));
        VideoInfo info = await new VideoReader().ProbeAsync(renamed);
        Assert.Equal(176, info.Width);
    }

    [Fact]
    public void Non_videos_are_not_sniffed_as_video()
    {
        Assert.Null(VideoSniffer.SniffMediaType("hello, this is text named clip.mkv\n"u8));
        Assert.Null(VideoSniffer.SniffMediaType(File.ReadAllBytes(TestVideos.Photo("bananas.jpg")).AsSpan(0, 512)));
        Assert.Null(VideoSniffer.SniffMediaType([]));
        byte[] m4a = [0, 0, 0, 0x20, .. "ftypM4A "u8, 0, 0, 0, 0];
        Assert.Null(VideoSniffer.SniffMediaType(m4a));
    }

    private static async Task<VideoFrame> FirstFrame(VideoReader reader, string path, VideoInfo info)
    {
        await foreach (VideoFrame frame in reader.ReadFramesAsync(path, info, 10, 90))
        {
            return frame;
        }

        throw new InvalidOperationException("no frame");
    }

    private static double MeanAbsDiff(VideoFrame a, VideoFrame b)
    {
        ReadOnlySpan<byte> x = a.Image.Pixels, y = b.Image.Pixels;
        long sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sum += Math.Abs(x[i] - y[i]);
        }

        return (double)sum / x.Length;
    }
}
