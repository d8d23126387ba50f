using System.Text.Json;
using Omnivec.Media;
using Omnivec.Onnx;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

public sealed class VideoCliTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "omnivec-video-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public VideoCliTests() => Directory.CreateDirectory(_temp);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Embed_video_prints_one_line_per_segment_with_offsets_equal_to_the_library()
    {
        string video = Path.Combine(_temp, "clip.mp4");
        double[] cuts = TestVideos.MakeShots(video, [("two_beagles.jpg", 2.0), ("bananas.jpg", 1.5)]);
        CliResult result = await CliRunner.RunAsync(["embed", "--model", CliRunner.ModelHf, "--video", video, "--frames-per-segment", "3", "--json"]);
        Assert.True(result.ExitCode == 0, result.StdErr);

        using var clip = ClipEmbeddingGenerator.Load(CliRunner.ModelHf);
        var embedder = new VideoEmbedder(clip, new VideoSegmenter(new VideoSegmenterOptions { FramesPerSegment = 3 }));
        IReadOnlyList<VideoSegmentVector> expected = await embedder.EmbedAllAsync(video);
        Assert.Equal(2, expected.Count);
        Assert.Equal(expected.Count, result.Lines.Length);
        for (int i = 0; i < expected.Count; i++)
        {
            using JsonDocument doc = JsonDocument.Parse(result.Lines[i]);
            JsonElement root = doc.RootElement;
            Assert.Equal(video, root.GetProperty("input").GetString());
            Assert.Equal("video", root.GetProperty("modality").GetString());
            Assert.Equal("tiny-clip-hf", root.GetProperty("model").GetString());
            Assert.Equal(clip.Dimensions, root.GetProperty("dimensions").GetInt32());
            Assert.Equal(Math.Round(expected[i].StartSec, 3), root.GetProperty("start_offset_sec").GetDouble());
            Assert.Equal(Math.Round(expected[i].EndSec, 3), root.GetProperty("end_offset_sec").GetDouble());
            float[] embedding = root.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(expected[i].Embedding.Vector.ToArray(), embedding);
        }

        Assert.True(Math.Abs(JsonDocument.Parse(result.Lines[1]).RootElement.GetProperty("start_offset_sec").GetDouble() - cuts[0]) <= 0.25);
    }

    [Fact]
    public async Task Segment_max_bounds_windows_and_bad_videos_fail_alone_with_one_line()
    {
        string video = Path.Combine(_temp, "one-shot.mp4");
        TestVideos.MakeShots(video, [("hotdog.jpg", 3.0)], width: 160, height: 120);
        string text = Path.Combine(_temp, "notes.mkv");
        File.WriteAllText(text, "not a video");
        CliResult result = await CliRunner.RunAsync(["embed", "--model", CliRunner.ModelHf, "--video", text, "--video", video, "--segment-max", "1", "--json"]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("notes.mkv: not a video", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
        double[] ends = result.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("end_offset_sec").GetDouble()).ToArray();
        Assert.Equal(3, ends.Length);
        Assert.Equal(3.0, ends[^1], 1);
    }

    [Fact]
    public async Task Without_ffmpeg_video_is_one_clear_error_and_texts_still_embed()
    {
        string video = Path.Combine(_temp, "clip.mp4");
        TestVideos.MakeShots(video, [("hotdog.jpg", 1.0)], width: 160, height: 120);
        CliResult result = await CliRunner.RunAsync(["embed", "--model", CliRunner.ModelHf, "--text", "a dog", "--video", video, "--json"],
            new Dictionary<string, string?> { ["OMNIVEC_FFMPEG"] = "/nonexistent/ffmpeg", ["OMNIVEC_FFPROBE"] = "/nonexistent/ffprobe" });
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("install FFmpeg", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
        Assert.Single(result.Lines);
    }
}
