using System.Buffers.Binary;
using Omnivec.Tests;

namespace Omnivec.Media.Tests;

/// <summary>Audio files generated per test into a temporary folder; decoding with the real FFmpeg.</summary>
public sealed class AudioReaderTests : IDisposable
{
    private const int Rate = 48_000;
    private const int Window = 480_000;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "omnivec-audio-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public AudioReaderTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Long_audio_streams_as_windows_with_exact_samples_and_the_last_window_ends_at_the_end()
    {
        float[] signal = Signal(25 * Rate + 123);
        string path = WriteFloatWav("long.wav", signal, Rate);
        var reader = new AudioReader();
        AudioInfo info = await reader.ProbeAsync(path);
        Assert.Equal("audio/wav", info.MediaType);
        Assert.Equal(1, info.Channels);
        List<AudioWindow> windows = await Read(reader, path, info, Window, Window);
        Assert.Equal([0L, Window, signal.Length - Window], windows.Select(w => w.StartSample));
        foreach (AudioWindow w in windows)
        {
            Assert.Equal(Window, w.Samples.Length);
            Assert.Equal(signal.AsSpan((int)w.StartSample, Window).ToArray(), w.Samples);
        }

        Assert.Equal(signal.Length / (double)Rate, windows[^1].EndSec, 9);
        Assert.Equal(10.0, windows[1].StartSec, 9);
    }

    [Fact]
    public async Task Overlapping_windows_start_every_hop()
    {
        float[] signal = Signal(22 * Rate);
        string path = WriteFloatWav("overlap.wav", signal, Rate);
        var reader = new AudioReader();
        List<AudioWindow> windows = await Read(reader, path, await reader.ProbeAsync(path), Window, Window / 2);
        Assert.Equal([0L, 240_000, 480_000, 576_000], windows.Select(w => w.StartSample));
        Assert.All(windows, w => Assert.Equal(signal.AsSpan((int)w.StartSample, Window).ToArray(), w.Samples));
    }

    [Fact]
    public async Task A_clip_shorter_than_a_window_is_one_short_window_and_exactly_one_window_is_one()
    {
        var reader = new AudioReader();
        float[] shortSignal = Signal(3 * Rate + 5);
        string shortPath = WriteFloatWav("short.wav", shortSignal, Rate);
        AudioWindow only = Assert.Single(await Read(reader, shortPath, await reader.ProbeAsync(shortPath), Window, Window));
        Assert.Equal(shortSignal, only.Samples);
        string exactPath = WriteFloatWav("exact.wav", Signal(Window), Rate);
        Assert.Single(await Read(reader, exactPath, await reader.ProbeAsync(exactPath), Window, Window));
    }

    [Theory]
    [InlineData("clip.mp3", "audio/mpeg", new[] { "-c:a", "libmp3lame", "-b:a", "128k" })]
    [InlineData("clip.flac", "audio/flac", new[] { "-c:a", "flac" })]
    [InlineData("clip.opus", "audio/ogg", new[] { "-c:a", "libopus", "-b:a", "64k" })]
    [InlineData("clip.ogg", "audio/ogg", new[] { "-c:a", "libvorbis" })]
    [InlineData("clip.m4a", "audio/mp4", new[] { "-c:a", "aac", "-b:a", "128k" })]
    [InlineData("clip.aac", "audio/aac", new[] { "-c:a", "aac", "-f", "adts" })]
    [InlineData("clip.aiff", "audio/aiff", new[] { "-c:a", "pcm_s16be" })]
    [InlineData("clip.mkv", "video/x-matroska", new[] { "-c:a", "flac" })]
    public async Task Common_formats_decode_to_mono_48_kHz_by_content(string name, string mediaType, string[] codec)
    {
        // A 2 s 1 kHz stereo tone at 44.1 kHz, named misleadingly: the content decides.
        string path = Make(name, "sine=frequency=1000:sample_rate=44100:duration=2", ["-ac", "2", .. codec]);
        string renamed = Path.Combine(_folder, "misnamed-" + name + ".txt");
        File.Move(path, renamed);
        var reader = new AudioReader();
        AudioInfo info = await reader.ProbeAsync(renamed);
        Assert.Equal(mediaType, info.MediaType);
        Assert.Equal(2, info.Channels);
        AudioWindow w = Assert.Single(await Read(reader, renamed, info, Window, Window));
        // Encoders add a little delay and padding; the duration stays within 60 ms of 2 s.
        Assert.InRange(w.Samples.Length, 2 * Rate - 100, 2 * Rate + 3000);
        double rms = Math.Sqrt(w.Samples.Skip(Rate / 2).Take(Rate).Average(v => (double)v * v));
        Assert.InRange(rms, 0.05, 0.2); // lavfi's sine is at 1/8 full scale: RMS 0.088
    }

    [Theory]
    [InlineData(8_000, 1)]
    [InlineData(192_000, 2)]
    [InlineData(48_000, 8)]
    public async Task Any_rate_and_channel_count_becomes_mono_at_48_kHz(int rate, int channels)
    {
        string path = Make($"rate{rate}-ch{channels}.wav", $"sine=frequency=440:sample_rate={rate}:duration=3",
            ["-ac", channels.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c:a", "pcm_s16le"]);
        var reader = new AudioReader();
        AudioInfo info = await reader.ProbeAsync(path);
        Assert.Equal(rate, info.SampleRate);
        Assert.Equal(channels, info.Channels);
        AudioWindow w = Assert.Single(await Read(reader, path, info, Window, Window));
        Assert.InRange(w.Samples.Length, 3 * Rate - 50, 3 * Rate + 50);
        Assert.True(w.Samples.Max() > 0.05f);
    }

    [Fact]
    public async Task The_soundtrack_of_a_video_is_read_and_a_silent_video_is_a_typed_error()
    {
        string withSound = Path.Combine(_folder, "with-sound.mp4");
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=3",
            "-f", "lavfi", "-i", "sine=frequency=500:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", withSound]);
        var reader = new AudioReader();
        AudioInfo info = await reader.ProbeAsync(withSound);
        Assert.Equal("video/mp4", info.MediaType);
        Assert.InRange(Assert.Single(await Read(reader, withSound, info, Window, Window)).Samples.Length, 3 * Rate - 2000, 3 * Rate + 3000);

        string silent = Path.Combine(_folder, "silent.mp4");
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", silent]);
        AudioReadException ex = await Assert.ThrowsAsync<AudioReadException>(() => reader.ProbeAsync(silent));
        Assert.Equal(AudioErrorKind.NoAudioStream, ex.Kind);
        Assert.Contains("video without sound", ex.Message);
    }

    [Fact]
    public async Task Empty_text_and_random_files_are_typed_errors_naming_the_file()
    {
        var reader = new AudioReader();
        string empty = Path.Combine(_folder, "empty.wav");
        File.WriteAllBytes(empty, []);
        Assert.Equal(AudioErrorKind.Corrupt, (await Assert.ThrowsAsync<AudioReadException>(() => reader.ProbeAsync(empty))).Kind);

        string text = Path.Combine(_folder, "notes.mp3");
        File.WriteAllText(text, "this is not an mp3, just text\n");
        string noise = Path.Combine(_folder, "noise.flac");
        File.WriteAllBytes(noise, [.. Enumerable.Range(0, 50_000).Select(i => (byte)(i * 7919 % 251))]);
        foreach (string path in new[] { text, noise })
        {
            AudioReadException ex = await Assert.ThrowsAsync<AudioReadException>(() => reader.ProbeAsync(path));
            Assert.Equal(AudioErrorKind.Unsupported, ex.Kind);
            Assert.StartsWith(path, ex.Message);
            Assert.DoesNotContain('\n', ex.Message);
        }

        string missing = Path.Combine(_folder, "missing.wav");
        Assert.Equal(AudioErrorKind.Corrupt, (await Assert.ThrowsAsync<AudioReadException>(() => reader.ProbeAsync(missing))).Kind);
    }

    [Fact]
    public async Task A_damaged_file_gives_what_decodes_or_a_typed_error()
    {
        var reader = new AudioReader();
        string flac = Make("whole.flac", "sine=frequency=440:duration=4", ["-c:a", "flac"]);
        byte[] bytes = File.ReadAllBytes(flac);
        string truncated = Path.Combine(_folder, "truncated.flac");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        AudioWindow w = Assert.Single(await Read(reader, truncated, await reader.ProbeAsync(truncated), Window, Window));
        Assert.InRange(w.Samples.Length, Rate / 2, 3 * Rate);

        // A WAV header with its data chunk cut off: nothing decodes.
        string headerOnly = Path.Combine(_folder, "header-only.wav");
        File.WriteAllBytes(headerOnly, File.ReadAllBytes(WriteFloatWav("x.wav", Signal(100), Rate)).AsSpan(0, 44).ToArray());
        await Assert.ThrowsAsync<AudioReadException>(async () => await Read(reader, headerOnly, await reader.ProbeAsync(headerOnly), Window, Window));
    }

    [Fact]
    public async Task Audio_above_the_duration_limit_is_refused_before_decoding()
    {
        string path = WriteFloatWav("minute.wav", new float[61 * Rate], Rate);
        var reader = new AudioReader(new FfmpegOptions { MaxDuration = TimeSpan.FromSeconds(60) });
        AudioReadException ex = await Assert.ThrowsAsync<AudioReadException>(() => reader.ProbeAsync(path));
        Assert.Equal(AudioErrorKind.TooLong, ex.Kind);
    }

    [Fact]
    public async Task A_ten_hour_recording_is_refused_by_default_naming_the_limit_and_how_to_raise_it()
    {
        // A real 10-hour recording that is small on disk (3.6 MB): 8-bit mono at 100 Hz, a square wave. (A WAV header that
        // merely claims 10 hours is no threat: ffprobe measures a WAV by its size.)
        string path = Path.Combine(_folder, "ten-hours.wav");
        const int Rate100 = 100;
        const int Bytes = 10 * 3600 * Rate100;
        byte[] bytes = new byte[44 + Bytes];
        "RIFF"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), 36 + Bytes);
        "WAVEfmt "u8.CopyTo(bytes.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(20), 1); // PCM
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(22), 1);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(24), Rate100);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(28), Rate100);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(32), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(34), 8);
        "data"u8.CopyTo(bytes.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(40), Bytes);
        for (int i = 0; i < Bytes; i++)
        {
            bytes[44 + i] = (byte)(i / 7 % 2 == 0 ? 88 : 168);
        }

        File.WriteAllBytes(path, bytes);
        var reader = new AudioReader(new FfmpegOptions { MaxDuration = TimeSpan.FromHours(4) });
        AudioReadException ex = await Assert.ThrowsAsync<AudioReadException>(() => reader.ProbeAsync(path));
        Assert.Equal(AudioErrorKind.TooLong, ex.Kind);
        Assert.Equal($"{path}: the audio lasts 10:00:00, above the limit of 4:00:00 (set OMNIVEC_MAX_DURATION to a number of seconds to raise it)", ex.Message);

        // Raised above 10 hours, the probe passes and the recording streams window by window (decoding all of it takes
        // minutes: bench/Omnivec.Bench audiolong does); stopping after two windows stops FFmpeg.
        var raised = new AudioReader(new FfmpegOptions { MaxDuration = TimeSpan.FromHours(11) });
        AudioInfo info = await raised.ProbeAsync(path);
        Assert.Equal(36_000, info.DurationSec, 0);
        var windows = new List<AudioWindow>();
        await foreach (AudioWindow w in raised.ReadWindowsAsync(path, info, Rate, Window, Window))
        {
            windows.Add(w);
            if (windows.Count == 2)
            {
                break;
            }
        }

        Assert.Equal([0.0, 10.0], windows.Select(w => w.StartSec));
        Assert.All(windows, w => Assert.Equal(Window, w.Samples.Length));
        Assert.True(windows[1].Samples.Max() > 0.2f);
    }

    [Fact]
    public async Task Audio_whose_container_does_not_say_its_length_is_stopped_at_the_limit_while_decoding()
    {
        // Matroska written to a pipe has no duration: the probe cannot refuse it, so the limit holds on decoded samples.
        string path = Path.Combine(_folder, "streamed.mka");
        using (var pipe = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ffmpeg",
            ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=90", "-c:a", "flac", "-f", "matroska", "pipe:1"])
            { RedirectStandardOutput = true })!)
        {
            using (FileStream file = File.Create(path))
            {
                await pipe.StandardOutput.BaseStream.CopyToAsync(file);
            }

            await pipe.WaitForExitAsync();
            Assert.Equal(0, pipe.ExitCode);
        }

        var reader = new AudioReader(new FfmpegOptions { MaxDuration = TimeSpan.FromSeconds(60) });
        AudioInfo info = await reader.ProbeAsync(path);
        Assert.Equal(0, info.DurationSec);
        var windows = new List<AudioWindow>();
        AudioReadException ex = await Assert.ThrowsAsync<AudioReadException>(async () =>
        {
            await foreach (AudioWindow w in reader.ReadWindowsAsync(path, info, Rate, Window, Window))
            {
                windows.Add(w);
            }
        });
        Assert.Equal(AudioErrorKind.TooLong, ex.Kind);
        Assert.Contains("decodes to more than the limit of 1:00 (its container said no duration", ex.Message);
        Assert.InRange(windows.Count, 5, 6);
        Assert.True(windows[^1].EndSec <= 61);

        // Under a limit it fits, the same file reads to its end.
        var enough = new AudioReader(new FfmpegOptions { MaxDuration = TimeSpan.FromSeconds(120) });
        Assert.Equal(90.0, (await Read(enough, path, info, Window, Window))[^1].EndSec, 2);
    }

    [Fact]
    public async Task NaN_and_huge_float_samples_are_made_safe()
    {
        float[] hostile = Signal(Rate);
        hostile[10] = float.NaN;
        hostile[20] = float.PositiveInfinity;
        hostile[30] = -3e38f;
        string path = WriteFloatWav("hostile.wav", hostile, Rate);
        var reader = new AudioReader();
        AudioWindow w = Assert.Single(await Read(reader, path, await reader.ProbeAsync(path), Window, Window));
        Assert.All(w.Samples, v => Assert.True(float.IsFinite(v) && Math.Abs(v) <= 64));
        Assert.Equal(0f, w.Samples[10]);
    }

    [Fact]
    public async Task Cancelling_or_stopping_a_read_leaves_no_ffmpeg_running()
    {
        string path = WriteFloatWav("cancel.wav", Signal(40 * Rate), Rate);
        var started = new List<int>();
        FfmpegProcess.Started = pid => { lock (started) { started.Add(pid); } };
        try
        {
            var reader = new AudioReader();
            AudioInfo info = await reader.ProbeAsync(path);
            using var cts = new CancellationTokenSource();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (AudioWindow w in reader.ReadWindowsAsync(path, info, Rate, Window, Window, cts.Token))
                {
                    await cts.CancelAsync();
                }
            });

            await foreach (AudioWindow w in reader.ReadWindowsAsync(path, info, Rate, Window, Window))
            {
                break;
            }
        }
        finally
        {
            FfmpegProcess.Started = null;
        }

        Assert.True(started.Count >= 3);
        // The hook is static and other tests run ffmpeg at the same time: only processes reading this test's file count.
        // A killed process may take a moment to be reaped, so each gets a short grace period.
        foreach (int pid in started)
        {
            bool Ours() => File.Exists($"/proc/{pid}/cmdline") && ReadOrEmpty($"/proc/{pid}/cmdline").Contains(path, StringComparison.Ordinal);
            bool Running() => File.Exists($"/proc/{pid}/status") && !ReadOrEmpty($"/proc/{pid}/status").Contains("State:\tZ", StringComparison.Ordinal);
            for (int i = 0; i < 50 && Ours() && Running(); i++)
            {
                await Task.Delay(100);
            }

            Assert.False(Ours() && Running(), $"process {pid} is still running");
        }

        static string ReadOrEmpty(string file)
        {
            try
            {
                return File.ReadAllText(file);
            }
            catch (IOException)
            {
                return "";
            }
        }
    }

    [Fact]
    public void Sniffer_knows_audio_containers_and_defers_to_the_video_sniffer()
    {
        Assert.Equal("audio/flac", AudioSniffer.SniffMediaType("fLaC\0\0\0\x22"u8));
        Assert.Equal("audio/mpeg", AudioSniffer.SniffMediaType("ID3\x04\0\0\0\0\0\0"u8));
        Assert.Equal("audio/mpeg", AudioSniffer.SniffMediaType([0xFF, 0xFB, 0x90, 0x64]));
        Assert.Equal("audio/aac", AudioSniffer.SniffMediaType([0xFF, 0xF1, 0x50, 0x80]));
        Assert.Equal("audio/mp4", AudioSniffer.SniffMediaType("\0\0\0 ftypM4A \0\0\0\0"u8));
        Assert.Equal("video/mp4", AudioSniffer.SniffMediaType("\0\0\0 ftypisom\0\0\0\0"u8));
        Assert.Null(AudioSniffer.SniffMediaType("hello world, not audio"u8));
        Assert.Null(AudioSniffer.SniffMediaType([0xFF, 0xFF, 0xFF, 0xFF]));
        Assert.Null(AudioSniffer.SniffMediaType([]));
    }

    private static async Task<List<AudioWindow>> Read(AudioReader reader, string path, AudioInfo info, int window, int hop)
    {
        var windows = new List<AudioWindow>();
        await foreach (AudioWindow w in reader.ReadWindowsAsync(path, info, Rate, window, hop))
        {
            windows.Add(w);
        }

        return windows;
    }

    private string Make(string name, string source, string[] args)
    {
        string path = Path.Combine(_folder, name);
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, .. args, path]);
        return path;
    }

    /// <summary>A deterministic signal: a sweep plus a little noise, different at every sample.</summary>
    private static float[] Signal(int length)
    {
        var random = new Random(length);
        var s = new float[length];
        for (int i = 0; i < length; i++)
        {
            double t = (double)i / Rate;
            s[i] = (float)(0.4 * Math.Sin(2 * Math.PI * (200 * t + 30 * t * t)) + 0.01 * (random.NextDouble() - 0.5));
        }

        return s;
    }

    /// <summary>Writes mono IEEE float32 WAV in the test folder, so decoding must return exactly these samples.</summary>
    private string WriteFloatWav(string name, float[] samples, int rate) => TestRecordings.WriteFloatWav(Path.Combine(_folder, name), samples, rate);
}
