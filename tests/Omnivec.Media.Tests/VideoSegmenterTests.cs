using Omnivec.Tests;

namespace Omnivec.Media.Tests;

[Collection(VideoCollection.Name)]
public sealed class VideoSegmenterTests(VideoFixture videos)
{
    [Theory]
    [InlineData("shots.mp4")]
    [InlineData("shots.webm")]
    [InlineData("shots.mov")]
    public async Task Cuts_are_found_within_a_quarter_second(string name)
    {
        List<(double Start, double End, bool AtCut, int Frames)> segments = await Segments(name, new VideoSegmenterOptions());
        Assert.Equal(VideoFixture.Shots.Length, segments.Count);
        Assert.Equal(0, segments[0].Start);
        for (int i = 0; i < videos.Cuts.Length; i++)
        {
            Assert.True(Math.Abs(segments[i + 1].Start - videos.Cuts[i]) <= 0.25, $"cut {i}: found {segments[i + 1].Start}, made at {videos.Cuts[i]}");
            Assert.True(segments[i + 1].AtCut);
            Assert.Equal(segments[i].End, segments[i + 1].Start);
        }

        Assert.InRange(segments[^1].End, 5.4, 5.6);
        Assert.All(segments, s => Assert.Equal(new VideoSegmenterOptions().FramesPerSegment, s.Frames));
    }

    [Fact]
    public async Task A_long_shot_comes_back_as_bounded_windows_covering_the_whole_video()
    {
        List<(double Start, double End, bool AtCut, int Frames)> segments = await Segments("long.mp4", new VideoSegmenterOptions { MaxSegmentSec = 16 });
        Assert.Equal(3, segments.Count);
        Assert.Equal(0, segments[0].Start);
        Assert.InRange(segments[^1].End, 39.9, 40.1);
        for (int i = 0; i < segments.Count; i++)
        {
            Assert.InRange(segments[i].End - segments[i].Start, 0.1, 16.0 + 1e-9);
            Assert.False(segments[i].AtCut);
            if (i > 0)
            {
                Assert.Equal(segments[i - 1].End, segments[i].Start);
            }
        }
    }

    [Fact]
    public async Task Sampled_frames_spread_over_the_segment_and_memory_stays_bounded()
    {
        var segmenter = new VideoSegmenter(new VideoSegmenterOptions { MaxSegmentSec = 16, FramesPerSegment = 3 });
        await foreach (VideoSegment segment in segmenter.SegmentAsync(videos.File("long.mp4")))
        {
            using (segment)
            {
                Assert.Equal(3, segment.Frames.Count);
                // Evenly spread: the first sampled frame in the first third, the last in the last third.
                double length = segment.EndSec - segment.StartSec;
                Assert.InRange(segment.Frames[0].TimestampSec, segment.StartSec, segment.StartSec + length / 3);
                Assert.InRange(segment.Frames[^1].TimestampSec, segment.EndSec - length / 3, segment.EndSec);
            }
        }
    }

    [Fact]
    public async Task Handheld_shake_is_not_cut_but_the_cut_after_it_is()
    {
        // Two shots of textured photos, each shaken like a handheld camera (two sines, up to ±34 px at 640x360): every frame
        // changes by about as much as the plain threshold, so only the neighbour ratio tells the shake from the cut at 4 s.
        string path = Path.Combine(videos.Folder, "shake-" + Guid.NewGuid().ToString("N")[..6] + ".mp4");
        string shake = "scale=800:450:force_original_aspect_ratio=increase,crop=800:450,crop=640:360:'80+24*sin(2*PI*t*1.7)+10*sin(2*PI*t*4.3)':'45+14*sin(2*PI*t*2.1)+8*sin(2*PI*t*5.3)',setsar=1,fps=30,format=yuv420p";
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y",
            "-loop", "1", "-framerate", "30", "-t", "4", "-i", TestVideos.Photo("three_men_indoors.jpg"),
            "-loop", "1", "-framerate", "30", "-t", "4", "-i", TestVideos.Photo("restaurant_table.jpg"),
            "-filter_complex", $"[0:v]{shake}[a];[1:v]{shake}[b];[a][b]concat=n=2:v=1:a=0[out]", "-map", "[out]",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path]);

        var segments = new List<(double Start, bool AtCut)>();
        await foreach (VideoSegment segment in new VideoSegmenter().SegmentAsync(path))
        {
            using (segment)
            {
                segments.Add((segment.StartSec, segment.StartsAtCut));
            }
        }

        Assert.Equal(2, segments.Count);
        Assert.True(segments[1].AtCut);
        Assert.InRange(segments[1].Start, 3.75, 4.25);

        // The same video with a plain threshold (the rule before the sweep) cuts the shake too.
        int plainCuts = 0;
        await foreach (VideoSegment segment in new VideoSegmenter(new VideoSegmenterOptions { SceneThreshold = 27, SceneRatio = 0 }).SegmentAsync(path))
        {
            using (segment)
            {
                plainCuts += segment.StartsAtCut ? 1 : 0;
            }
        }

        Assert.True(plainCuts > 1, $"plain threshold 27 made {plainCuts} cuts");
    }

    [Fact]
    public async Task Higher_threshold_finds_fewer_cuts_and_min_shot_merges_short_shots()
    {
        List<(double Start, double End, bool AtCut, int Frames)> none = await Segments("shots.mp4", new VideoSegmenterOptions { SceneThreshold = 250 });
        Assert.Single(none);
        List<(double Start, double End, bool AtCut, int Frames)> merged = await Segments("shots.mp4", new VideoSegmenterOptions { MinShotSec = 2.5 });
        // The cut at 2.0 s comes less than 2.5 s after the start and is ignored; the one at 3.5 s is kept.
        Assert.Equal(2, merged.Count);
        Assert.True(Math.Abs(merged[1].Start - 3.5) <= 0.25);
    }

    private async Task<List<(double, double, bool, int)>> Segments(string name, VideoSegmenterOptions options)
    {
        var list = new List<(double, double, bool, int)>();
        await foreach (VideoSegment segment in new VideoSegmenter(options).SegmentAsync(videos.File(name)))
        {
            using (segment)
            {
                list.Add((segment.StartSec, segment.EndSec, segment.StartsAtCut, segment.Frames.Count));
            }
        }

        return list;
    }
}
