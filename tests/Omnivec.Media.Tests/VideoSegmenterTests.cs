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
        Assert.All(segments, s => Assert.Equal(4, s.Frames));
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
