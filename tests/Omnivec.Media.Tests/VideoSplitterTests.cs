using System.Globalization;
using Omnivec.Tests;

namespace Omnivec.Media.Tests;

/// <summary>
/// <see cref="VideoSplitter"/> on its own: the plan (where pieces end, copied or re-encoded) on keyframe lists made in
/// the test, and real splits with FFmpeg of videos made in the test, each piece measured with ffprobe.
/// </summary>
public sealed class VideoSplitterTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-media-split-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    /// <summary>Shots of corpus photos at 10 fps, a keyframe every <paramref name="gop"/> frames (none forced at the cuts).</summary>
    private string MakeVideo(string name, double seconds, int gop, int width = 160, int height = 120, string crf = "30")
    {
        string[] photos = ["bananas.jpg", "beach_kitesurfing.jpg", "hotdog.jpg", "motel_sign.jpg"];
        int shots = (int)Math.Ceiling(seconds / 10);
        var list = Enumerable.Range(0, shots).Select(i => (photos[i % photos.Length], Math.Min(10, seconds - (i * 10)))).ToList();
        string path = Path.Combine(_temp, name);
        string g = gop.ToString(CultureInfo.InvariantCulture);
        TestVideos.MakeShots(path, list, width, height, fps: 10,
            codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-crf", crf, "-g", g, "-keyint_min", g, "-sc_threshold", "0"]);
        return path;
    }

    /// <summary>What a split gave: each piece's times, flag, size and measured duration, read before the piece is disposed.</summary>
    private sealed record Piece(double Start, double End, bool Reencoded, long Bytes, double Measured, string MediaType, string Path);

    private async Task<List<Piece>> SplitAsync(string video, VideoSplitOptions options)
    {
        options.TempDirectory ??= _temp;
        var reader = new VideoReader();
        VideoInfo info = await reader.ProbeAsync(video);
        var pieces = new List<Piece>();
        await foreach (VideoPiece piece in new VideoSplitter().SplitAsync(video, info, options))
        {
            using (piece)
            {
                VideoInfo measured = await reader.ProbeAsync(piece.Path);
                pieces.Add(new Piece(piece.StartSec, piece.EndSec, piece.Reencoded, piece.Length, measured.DurationSec, piece.MediaType, piece.Path));
            }

            Assert.False(File.Exists(piece.Path)); // disposing a piece deletes its file
        }

        // The private folder is gone once the split ends.
        Assert.Empty(Directory.GetDirectories(_temp, "omnivec-split-*"));
        return pieces;
    }

    /// <summary>Consecutive, from <paramref name="start"/> to <paramref name="end"/>, each within the limits, each file as long as it says.</summary>
    private static void AssertCovers(List<Piece> pieces, double start, double end, VideoSplitOptions options)
    {
        Assert.NotEmpty(pieces);
        Assert.Equal(start, pieces[0].Start, 3);
        Assert.Equal(end, pieces[^1].End, 1);
        for (int i = 1; i < pieces.Count; i++)
        {
            Assert.Equal(pieces[i - 1].End, pieces[i].Start, 6);
        }

        Assert.All(pieces, p =>
        {
            Assert.InRange(p.End - p.Start, 0.05, options.MaxPieceSec + 1e-6);
            Assert.InRange(p.Bytes, 1, options.MaxPieceBytes);
            // One frame (0.1 s) of slack: a piece's file holds its frames, the last one lasting a frame.
            Assert.InRange(p.Measured, p.End - p.Start - 0.15, p.End - p.Start + 0.15);
        });
    }

    private static KeyframeIndex Index(long totalBytes, params (double Time, long BytesBefore)[] keyframes) =>
        new([.. keyframes.Select(k => new Keyframe(k.Time, k.BytesBefore))], totalBytes);

    [Fact]
    public void The_plan_copies_the_rest_when_it_fits_else_ends_at_the_latest_keyframe_within_the_length_and_the_budget()
    {
        // Keyframes every 2 s from 0 to 20 s, 100 bytes per second.
        KeyframeIndex keyframes = Index(2_100, [.. Enumerable.Range(0, 11).Select(i => (i * 2.0, i * 200L))]);

        // All of 0-21 s fits both limits: one copied piece.
        Assert.Equal((21.0, true), VideoSplitter.Plan(keyframes, 0, 21, target: 30, maxLength: 30, budget: 10_000, copyable: true, minCopy: 1));
        // 7 s at most: the keyframe at 6 s (the latest one inside), copied.
        Assert.Equal((6.0, true), VideoSplitter.Plan(keyframes, 0, 21, target: 7, maxLength: 7, budget: 10_000, copyable: true, minCopy: 1));
        // A boundary exactly at the length is inside: 8 s ends at the keyframe at 8 s.
        Assert.Equal((12.0, true), VideoSplitter.Plan(keyframes, 4, 21, target: 8, maxLength: 8, budget: 10_000, copyable: true, minCopy: 1));
        // 450 bytes at most: 4 s (400 bytes) fits, 6 s (600) does not.
        Assert.Equal((4.0, true), VideoSplitter.Plan(keyframes, 0, 21, target: 10, maxLength: 10, budget: 450, copyable: true, minCopy: 1));
        // No keyframe far enough to fit the budget (the first one is already over it): re-encoded, ending at a keyframe
        // in the second half of the target so the next piece can be copied again.
        Assert.Equal((4.0, false), VideoSplitter.Plan(keyframes, 0, 21, target: 5, maxLength: 5, budget: 150, copyable: true, minCopy: 1));
        // Copies shorter than minCopy are not made: with minCopy 5 the 4 s keyframe does not count.
        Assert.Equal((4.0, false), VideoSplitter.Plan(keyframes, 0, 21, target: 5, maxLength: 5, budget: 450, copyable: true, minCopy: 5));
        // A start that is not a keyframe, or a codec that cannot be copied, is re-encoded up to the latest keyframe in the
        // second half of the length (1 + 3.5 … 1 + 7: the one at 8 s; 3.5 … 7: the one at 6 s).
        Assert.Equal((8.0, false), VideoSplitter.Plan(keyframes, 1, 21, target: 7, maxLength: 7, budget: 10_000, copyable: true, minCopy: 1));
        Assert.Equal((6.0, false), VideoSplitter.Plan(keyframes, 0, 21, target: 7, maxLength: 7, budget: 10_000, copyable: false, minCopy: 1));
        // The rest from the last keyframe is copied to the end; from between keyframes it is re-encoded to the end.
        Assert.Equal((21.0, true), VideoSplitter.Plan(keyframes, 20, 21, target: 7, maxLength: 7, budget: 10_000, copyable: true, minCopy: 1));
        Assert.Equal((21.0, false), VideoSplitter.Plan(keyframes, 19, 21, target: 7, maxLength: 7, budget: 10_000, copyable: true, minCopy: 1));

        // One keyframe only (at 0): every piece after the first is re-encoded at the exact target.
        KeyframeIndex single = Index(5_000, (0, 0));
        Assert.Equal((8.0, false), VideoSplitter.Plan(single, 0, 50, target: 8, maxLength: 8, budget: 100, copyable: true, minCopy: 1));
        Assert.Equal((16.0, false), VideoSplitter.Plan(single, 8, 50, target: 8, maxLength: 8, budget: 100, copyable: true, minCopy: 1));
    }

    [Fact]
    public void Aligned_pieces_last_a_whole_number_of_segments()
    {
        Assert.Equal(120, VideoSplitter.TargetLength(new VideoSplitOptions { MaxPieceSec = 120 }));
        Assert.Equal(112, VideoSplitter.TargetLength(new VideoSplitOptions { MaxPieceSec = 120, AlignSec = 16 }));
        Assert.Equal(120, VideoSplitter.TargetLength(new VideoSplitOptions { MaxPieceSec = 120, AlignSec = 15 }));
        Assert.Equal(30, VideoSplitter.TargetLength(new VideoSplitOptions { MaxPieceSec = 30, AlignSec = 40 })); // a segment longer than a piece: the piece's length
        Assert.Equal(16, VideoSplitter.MinCopyLength(new VideoSplitOptions { MaxPieceSec = 120, AlignSec = 16 }, 112));
        Assert.Equal(1, VideoSplitter.MinCopyLength(new VideoSplitOptions { MaxPieceSec = 120 }, 120));
    }

    [Fact]
    public async Task A_long_video_is_copied_into_pieces_at_keyframes_within_the_length()
    {
        string video = MakeVideo("long.mp4", 45, gop: 20); // a keyframe every 2 s
        var options = new VideoSplitOptions { MaxPieceSec = 9 };
        List<Piece> pieces = await SplitAsync(video, options);

        AssertCovers(pieces, 0, 45, options);
        // Copies, each ending at the latest keyframe within 9 s: 0-8, 8-16, …, 40-45.
        Assert.All(pieces, p => Assert.False(p.Reencoded));
        Assert.All(pieces, p => Assert.Equal("video/mp4", p.MediaType));
        Assert.Equal([0d, 8, 16, 24, 32, 40], pieces.Select(p => Math.Round(p.Start, 3)));
    }

    [Fact]
    public async Task Pieces_respect_the_byte_limit_when_it_is_tighter_than_the_length()
    {
        // A high-quality pan with a keyframe every second: well over 64 KiB per 10 s, so bytes, not seconds, decide where pieces end.
        string video = MakeVideo("heavy.mp4", 30, gop: 10, crf: "18");
        long total = new FileInfo(video).Length;
        var options = new VideoSplitOptions { MaxPieceSec = 30, MaxPieceBytes = 64 * 1024 };
        Assert.True(total > 3 * options.MaxPieceBytes, $"the video is only {total:N0} bytes");
        List<Piece> pieces = await SplitAsync(video, options);

        AssertCovers(pieces, 0, 30, options);
        Assert.True(pieces.Count >= 3, $"{pieces.Count} pieces");
    }

    [Fact]
    public async Task A_video_without_keyframes_inside_the_length_is_re_encoded_into_exact_pieces()
    {
        string video = MakeVideo("one-keyframe.mp4", 25, gop: 1000); // one keyframe, at 0
        var options = new VideoSplitOptions { MaxPieceSec = 10 };
        List<Piece> pieces = await SplitAsync(video, options);

        AssertCovers(pieces, 0, 25, options);
        Assert.Equal([(0d, 10d), (10d, 20d), (20d, 25d)], pieces.Select(p => (Math.Round(p.Start, 3), Math.Round(p.End, 3))));
        Assert.All(pieces, p => Assert.True(p.Reencoded));
    }

    [Fact]
    public async Task A_video_already_within_the_limits_is_one_copied_piece_and_a_range_is_kept_to()
    {
        string video = MakeVideo("short.mp4", 12, gop: 20);
        var options = new VideoSplitOptions();
        List<Piece> whole = await SplitAsync(video, options);
        Piece only = Assert.Single(whole);
        Assert.Equal((0, 12, false), (Math.Round(only.Start, 3), Math.Round(only.End, 3), only.Reencoded));
        Assert.InRange(only.Measured, 11.85, 12.15);

        // From 5 s to 11 s: the first piece starts at the keyframe before (4 s), so it can be copied; the end is kept.
        List<Piece> range = await SplitAsync(video, new VideoSplitOptions { StartSec = 5, EndSec = 11, MaxPieceSec = 4 });
        Assert.Equal(4, range[0].Start, 3);
        Assert.Equal(11, range[^1].End, 3);
        Assert.All(range, p => Assert.InRange(p.End - p.Start, 0.05, 4.0001));
    }

    [Fact]
    public async Task Bad_files_and_bad_limits_give_typed_errors_and_leave_nothing()
    {
        string video = MakeVideo("good.mp4", 6, gop: 20);
        VideoInfo info = await new VideoReader().ProbeAsync(video);
        var splitter = new VideoSplitter();

        // A file that was a video when probed but is garbage now (replaced on disk): ffprobe's packet list fails.
        string swapped = Path.Combine(_temp, "swapped.mp4");
        await File.WriteAllBytesAsync(swapped, [.. Enumerable.Range(0, 200_000).Select(i => (byte)((i * 7919) ^ (i >> 3)))]);
        VideoReadException corrupt = await Assert.ThrowsAsync<VideoReadException>(async () =>
        {
            await foreach (VideoPiece piece in splitter.SplitAsync(swapped, info, new VideoSplitOptions { MaxPieceSec = 2, TempDirectory = _temp }))
            {
                piece.Dispose();
            }
        });
        Assert.Equal(VideoErrorKind.Corrupt, corrupt.Kind);
        Assert.Contains("swapped.mp4", corrupt.Message, StringComparison.Ordinal);

        // Nothing to split: a range past the end.
        await Assert.ThrowsAsync<VideoReadException>(async () =>
        {
            await foreach (VideoPiece piece in splitter.SplitAsync(video, info, new VideoSplitOptions { StartSec = 60, TempDirectory = _temp }))
            {
                piece.Dispose();
            }
        });

        // Limits out of range are refused before FFmpeg runs.
        Assert.Throws<ArgumentException>(() => new VideoSplitOptions { MaxPieceSec = 0.5 }.Validate());
        Assert.Throws<ArgumentException>(() => new VideoSplitOptions { MaxPieceBytes = 1000 }.Validate());
        Assert.Throws<ArgumentException>(() => new VideoSplitOptions { AlignSec = -1 }.Validate());
        Assert.Throws<ArgumentException>(() => new VideoSplitOptions { StartSec = 5, EndSec = 5 }.Validate());
        Assert.Empty(Directory.GetDirectories(_temp, "omnivec-split-*"));
    }
}
