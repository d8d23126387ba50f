using System.Text.Json;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

/// <summary>Photos and generated videos in one folder, one <c>omnivec index</c>, then finding the moment.</summary>
public sealed class VideoIndexCliTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-video-index-").FullName;

    private string Store => Path.Combine(_temp, "store");

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
    public async Task Photos_and_videos_index_together_and_a_photo_finds_the_segment_that_shows_it()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_temp, "media")).FullName;
        foreach (string photo in new[] { "bananas.jpg", "two_beagles.jpg", "tomatoes.jpg", "hotdog.jpg" })
        {
            File.Copy(CliRunner.Photo(photo), Path.Combine(folder, photo));
        }

        // Shots with known cuts in three containers, and a rotated phone-style video.
        double[] mp4Cuts = TestVideos.MakeShots(Path.Combine(folder, "shots.mp4"), [("two_beagles.jpg", 2.0), ("bananas.jpg", 1.5), ("tomatoes.jpg", 2.0)]);
        double[] webmCuts = TestVideos.MakeShots(Path.Combine(folder, "shots.webm"), [("hotdog.jpg", 1.5), ("bananas.jpg", 2.0)]);
        TestVideos.MakeShots(Path.Combine(folder, "shots.mov"), [("tomatoes.jpg", 1.5), ("two_beagles.jpg", 1.5)]);
        TestVideos.MakeShots(Path.Combine(_temp, "portrait.mp4"), [("hotdog.jpg", 1.0)], width: 180, height: 320);
        TestVideos.MakeRotated(Path.Combine(_temp, "portrait.mp4"), Path.Combine(folder, "rotated.mp4"));
        File.WriteAllText(Path.Combine(folder, "notes.mkv"), "a text file named like a video");

        CliResult index = await CliRunner.RunAsync(["index", folder, "--model", CliRunner.ModelHf, "--store", Store, "--collection", "media"]);
        Assert.True(index.ExitCode == 0, index.StdErr);
        // 4 photos + 4 videos; the text file is reported, not fatal.
        Assert.Contains("8 added", index.StdOut);
        Assert.Contains("notes.mkv: not a video", index.StdErr);

        CliResult search = await CliRunner.RunAsync(["search", "--image", CliRunner.Photo("bananas.jpg"), "--store", Store, "--collection", "media",
            "--type", "video/*", "--per-video", "1", "--json", "--top", "10", "--all"]);
        Assert.True(search.ExitCode == 0, search.StdErr);
        JsonElement[] results = [.. JsonDocument.Parse(search.StdOut).RootElement.GetProperty("results").EnumerateArray()];
        Assert.All(results, r => Assert.StartsWith("video/", r.GetProperty("media_type").GetString()));
        Assert.Equal(results.Length, results.Select(r => r.GetProperty("path").GetString()).Distinct().Count());
        JsonElement mp4 = results.Single(r => r.GetProperty("path").GetString() == Path.Combine(folder, "shots.mp4"));
        AssertInside(mp4, mp4Cuts[0], mp4Cuts[1]);
        JsonElement webm = results.Single(r => r.GetProperty("path").GetString() == Path.Combine(folder, "shots.webm"));
        AssertInside(webm, webmCuts[0], 3.5);

        // The table shows the moment.
        CliResult table = await CliRunner.RunAsync(["search", "--image", CliRunner.Photo("bananas.jpg"), "--store", Store, "--collection", "media", "--type", "video/mp4", "--top", "1", "--all"]);
        Assert.Contains("shots.mp4 @ 0:02–0:03", table.StdOut);

        // More like this, from a moment.
        CliResult similar = await CliRunner.RunAsync(["similar", Path.Combine(folder, "shots.mp4") + "@2.5", "--store", Store, "--collection", "media", "--json", "--top", "3"]);
        Assert.True(similar.ExitCode == 0, similar.StdErr);
        Assert.Contains("shots.mp4 @ 0:02–0:03", JsonDocument.Parse(similar.StdOut).RootElement.GetProperty("query").GetString());

        // Incremental: nothing changed, nothing redone; a deleted video takes its segments with it.
        File.Delete(Path.Combine(folder, "shots.webm"));
        CliResult again = await CliRunner.RunAsync(["index", folder, "--store", Store, "--collection", "media"]);
        Assert.True(again.ExitCode == 0, again.StdErr);
        Assert.Contains("0 added, 0 updated, 7 unchanged, 1 removed", again.StdOut);
        CliResult after = await CliRunner.RunAsync(["search", "--image", CliRunner.Photo("bananas.jpg"), "--store", Store, "--collection", "media", "--json", "--top", "50", "--all"]);
        Assert.DoesNotContain("shots.webm", after.StdOut);
    }

    [Fact]
    public async Task Without_ffmpeg_videos_are_skipped_with_one_message_and_images_are_indexed()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_temp, "media")).FullName;
        File.Copy(CliRunner.Photo("hotdog.jpg"), Path.Combine(folder, "hotdog.jpg"));
        TestVideos.MakeShots(Path.Combine(folder, "a.mp4"), [("bananas.jpg", 1.0)], width: 160, height: 120);
        TestVideos.MakeShots(Path.Combine(folder, "b.mp4"), [("tomatoes.jpg", 1.0)], width: 160, height: 120);
        CliResult index = await CliRunner.RunAsync(["index", folder, "--model", CliRunner.ModelHf, "--store", Store, "--collection", "media"],
            new Dictionary<string, string?> { ["OMNIVEC_FFMPEG"] = "/nonexistent/ffmpeg", ["OMNIVEC_FFPROBE"] = "/nonexistent/ffprobe" });
        Assert.True(index.ExitCode == 0, index.StdErr);
        Assert.Contains("1 added", index.StdOut);
        Assert.Single(index.StdErr.Split('\n'), l => l.Contains("install FFmpeg", StringComparison.Ordinal));
    }

    private static void AssertInside(JsonElement hit, double shotStart, double shotEnd)
    {
        double start = hit.GetProperty("start_offset_sec").GetDouble();
        double end = hit.GetProperty("end_offset_sec").GetDouble();
        Assert.True(start >= shotStart - 0.25 && end <= shotEnd + 0.25, $"segment {start}-{end} is not inside the shot {shotStart}-{shotEnd}");
    }
}
