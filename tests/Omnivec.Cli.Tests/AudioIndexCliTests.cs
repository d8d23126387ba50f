using System.Text.Json;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

/// <summary>A folder of recordings (and a video with sound) indexed into a CLAP collection, then searched by words and by a clip.</summary>
public sealed class AudioIndexCliTests : IDisposable
{
    private static readonly string Pack = Path.Combine(TestPaths.Fixtures, "models", "tiny-clap-hf");
    private static readonly string Clips = Path.Combine(TestPaths.Fixtures, "reference", "clap");
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-audio-index-").FullName;

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
    public async Task Recordings_index_as_windows_and_a_clip_of_one_finds_it_at_the_right_offset_first()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_temp, "recordings")).FullName;
        foreach (string clip in new[] { "tone-2.3s.wav", "noise-4.1s.wav", "mix-13.5s.wav", "chirp-6.7s.wav" })
        {
            File.Copy(Path.Combine(Clips, clip), Path.Combine(folder, clip));
        }

        // A video whose soundtrack is the chirp, a photo (not audio: ignored by an audio model) and a text file named .mp3.
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=6.7",
            "-i", Path.Combine(Clips, "chirp-6.7s.wav"), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "flac", "-shortest",
            Path.Combine(folder, "chirp-video.mkv")]);
        File.Copy(CliRunner.Photo("bananas.jpg"), Path.Combine(folder, "bananas.jpg"));
        File.WriteAllText(Path.Combine(folder, "notes.mp3"), "a text file named like an mp3");

        CliResult index = await CliRunner.RunAsync(["index", folder, "--model", Pack, "--store", Store, "--collection", "sounds"]);
        Assert.True(index.ExitCode == 0, index.StdErr);
        Assert.Contains("5 added", index.StdOut);
        Assert.Contains("notes.mp3: not audio", index.StdErr);
        Assert.DoesNotContain("bananas.jpg", index.StdErr);

        // The second window of the 13.5 s recording, cut out exactly: it finds that window first, with offsets.
        string query = Path.Combine(_temp, "query.wav");
        File.WriteAllBytes(query, TestAudio.CutWav(File.ReadAllBytes(Path.Combine(Clips, "mix-13.5s.wav")), startSample: 168_000, samples: 480_000));
        CliResult search = await CliRunner.RunAsync(["search", "--audio", query, "--store", Store, "--collection", "sounds", "--json", "--top", "3", "--all"]);
        Assert.True(search.ExitCode == 0, search.StdErr);
        JsonElement[] results = [.. JsonDocument.Parse(search.StdOut).RootElement.GetProperty("results").EnumerateArray()];
        Assert.Equal(Path.Combine(folder, "mix-13.5s.wav"), results[0].GetProperty("path").GetString());
        Assert.Equal(3.5, results[0].GetProperty("start_offset_sec").GetDouble());
        Assert.Equal(13.5, results[0].GetProperty("end_offset_sec").GetDouble());
        Assert.True(results[0].GetProperty("score").GetDouble() > 0.9999);

        // The same clip as a weighted term beside words (--plus audio:PATH) dominates them; minus itself it cancels out.
        CliResult mixed = await CliRunner.RunAsync(["search", "a dog barking", "--plus", "20:audio:" + query, "--store", Store, "--collection", "sounds", "--json", "--top", "1", "--all"]);
        Assert.True(mixed.ExitCode == 0, mixed.StdErr);
        JsonElement top = JsonDocument.Parse(mixed.StdOut).RootElement.GetProperty("results")[0];
        Assert.Equal((Path.Combine(folder, "mix-13.5s.wav"), 3.5), (top.GetProperty("path").GetString(), top.GetProperty("start_offset_sec").GetDouble()));
        CliResult cancelled = await CliRunner.RunAsync(["search", "--audio", query, "--minus", "audio:" + query, "--store", Store, "--collection", "sounds"]);
        Assert.NotEqual(0, cancelled.ExitCode);
        Assert.Contains("cancel out", cancelled.StdErr);

        // The video's soundtrack was indexed and is found by the recording it carries.
        CliResult chirp = await CliRunner.RunAsync(["search", "--audio", Path.Combine(Clips, "chirp-6.7s.wav"), "--store", Store, "--collection", "sounds", "--json", "--top", "2", "--all"]);
        Assert.True(chirp.ExitCode == 0, chirp.StdErr);
        string[] paths = [.. JsonDocument.Parse(chirp.StdOut).RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("path").GetString()!)];
        Assert.Equal([Path.Combine(folder, "chirp-6.7s.wav"), Path.Combine(folder, "chirp-video.mkv")], paths.Order(StringComparer.Ordinal));

        // Words search the same collection; the collection remembers its model.
        CliResult words = await CliRunner.RunAsync(["search", "a dog barking", "--store", Store, "--collection", "sounds", "--json", "--all", "--top", "50"]);
        Assert.True(words.ExitCode == 0, words.StdErr);
        Assert.Equal(6, JsonDocument.Parse(words.StdOut).RootElement.GetProperty("results").GetArrayLength());

        // Incremental: nothing redone; a deleted recording takes its windows with it.
        File.Delete(Path.Combine(folder, "mix-13.5s.wav"));
        CliResult again = await CliRunner.RunAsync(["index", folder, "--store", Store, "--collection", "sounds"]);
        Assert.True(again.ExitCode == 0, again.StdErr);
        Assert.Contains("0 added, 0 updated, 4 unchanged, 1 removed", again.StdOut);
    }

    [Fact]
    public async Task A_max_duration_above_the_readers_limit_raises_it_and_one_below_skips()
    {
        // The reader's limit brought down to 10 s through OMNIVEC_MAX_DURATION stands in for the 4-hour default; a
        // --max-duration below the default only skips, with its own message.
        string folder = Directory.CreateDirectory(Path.Combine(_temp, "long")).FullName;
        File.Copy(Path.Combine(Clips, "mix-13.5s.wav"), Path.Combine(folder, "mix-13.5s.wav"));
        var env = new Dictionary<string, string?> { ["OMNIVEC_MAX_DURATION"] = "10" };

        CliResult refused = await CliRunner.RunAsync(["index", folder, "--model", Pack, "--store", Store, "--collection", "refused"], env);
        Assert.Contains("above the limit of", refused.StdErr);
        Assert.Contains("0 added", refused.StdOut);

        CliResult raised = await CliRunner.RunAsync(["index", folder, "--model", Pack, "--store", Store, "--collection", "raised", "--max-duration", "20"], env);
        Assert.True(raised.ExitCode == 0, raised.StdErr);
        Assert.Contains("1 added", raised.StdOut);
        CliResult search = await CliRunner.RunAsync(["search", "--audio", Path.Combine(folder, "mix-13.5s.wav"), "--store", Store, "--collection", "raised", "--json", "--top", "5", "--all"]);
        Assert.True(search.ExitCode == 0, search.StdErr);
        Assert.Equal(13.5, JsonDocument.Parse(search.StdOut).RootElement.GetProperty("results").EnumerateArray().Max(r => r.GetProperty("end_offset_sec").GetDouble()));

        CliResult skipped = await CliRunner.RunAsync(["index", folder, "--model", Pack, "--store", Store, "--collection", "skipped", "--max-duration", "5"]);
        Assert.Contains("--max-duration 5 s", skipped.StdErr);
        Assert.DoesNotContain("above the limit of", skipped.StdErr);
    }

    [Fact]
    public async Task Speech_sounds_and_a_spoken_video_index_and_each_clip_finds_itself_at_its_offset_first()
    {
        // Recordings made here: espeak-ng phrases (one over 10 s), sox sounds (one over 10 s, one at 44.1 kHz stereo in
        // FLAC) and a video whose soundtrack is speech.
        string folder = Directory.CreateDirectory(Path.Combine(_temp, "spoken")).FullName;
        string scratch = Directory.CreateDirectory(Path.Combine(_temp, "scratch")).FullName;
        string Speech(string name, string text) =>
            TestRecordings.ToWav48k(TestRecordings.Speech(scratch, name + ".22k.wav", text), Path.Combine(folder, name + ".wav"));

        string dog = Speech("dog", "a dog barking");
        string rain = Speech("rain", "Rain on a window. A crowd cheering in a stadium, then silence.");
        string story = Speech("story", "The quick brown fox jumps over the lazy dog. A second sentence follows, about the weather in the mountains, " +
            "where rain falls on the window and the wind blows through the trees. Then a third sentence counts from one to twelve: " +
            "one, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve.");
        string pluck = TestRecordings.Sox(folder, "pluck.wav", ["3.3", "pluck", "C4"]);
        string noise = TestRecordings.Sox(folder, "wind.wav", ["12", "brownnoise", "band", "500", "400", "tremolo", "0.5", "60"]);
        string square = TestRecordings.Sox(folder, "buzz.flac", ["4", "square", "220", "overdrive", "10", "gain", "-6"], rate: 44_100, channels: 2);
        string narration = TestRecordings.Speech(scratch, "narration.wav", "Welcome to the harbour. Boats leave every hour from the northern pier, " +
            "and the ferry to the island takes forty minutes when the sea is calm. Tickets are sold on board, and bicycles travel free of charge.");
        string video = Path.Combine(folder, "harbour.mkv");
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=60",
            "-i", narration, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "flac", "-ar", "48000", "-shortest", video]);

        CliResult index = await CliRunner.RunAsync(["index", folder, "--model", Pack, "--store", Store, "--collection", "spoken"]);
        Assert.True(index.ExitCode == 0, index.StdErr);
        Assert.Contains("7 added", index.StdOut);

        // Each query is a clip cut (sample-exact, from the audio as FFmpeg decodes it) out of one window of one file: the
        // second or last window of the long ones, the whole of the short ones.
        const int Window = 480_000;
        int n = 0;
        foreach (string file in new[] { story, video, noise, dog, rain, pluck, square })
        {
            float[] audio = TestRecordings.Decode(file);
            long[] starts = TestRecordings.WindowStarts(audio.Length, Window);
            long start = starts.Length > 1 ? starts[1] : 0;
            int length = (int)Math.Min(Window, audio.Length - start);
            string query = TestRecordings.WriteFloatWav(Path.Combine(_temp, $"query{n++}.wav"), audio.AsSpan((int)start, length));
            CliResult search = await CliRunner.RunAsync(["search", "--audio", query, "--store", Store, "--collection", "spoken", "--json", "--top", "3", "--all"]);
            Assert.True(search.ExitCode == 0, search.StdErr);
            JsonElement first = JsonDocument.Parse(search.StdOut).RootElement.GetProperty("results")[0];
            Assert.Equal(file, first.GetProperty("path").GetString());
            // Offsets are stored to the millisecond.
            Assert.InRange(first.GetProperty("start_offset_sec").GetDouble() - start / 48_000.0, -0.0005001, 0.0005001);
            Assert.InRange(first.GetProperty("end_offset_sec").GetDouble() - (start + length) / 48_000.0, -0.0005001, 0.0005001);
            Assert.True(first.GetProperty("score").GetDouble() > 0.9999, $"{file}: {first.GetProperty("score").GetDouble()}");
        }

        Assert.True(TestRecordings.Decode(story).Length > 15 * 48_000 && TestRecordings.Decode(video).Length > 10 * 48_000, "two files have more than one window");
    }
}
