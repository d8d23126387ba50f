using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

using static Omnivec.Media.MediaProbe;

namespace Omnivec.Media;

/// <summary>What ffprobe says about the audio of a file.</summary>
/// <param name="MediaType">The media type sniffed from the content (audio/flac, audio/mpeg, video/mp4, …).</param>
/// <param name="Container">The container as ffprobe names it.</param>
/// <param name="DurationSec">Duration in seconds (0 when the container does not say).</param>
/// <param name="Codec">The audio stream's codec (pcm_s16le, mp3, aac, opus, flac, …).</param>
/// <param name="SampleRate">The stream's own sampling rate in Hz (before resampling).</param>
/// <param name="Channels">The stream's channel count (before the downmix to mono).</param>
/// <param name="StreamIndex">Index of the audio stream that is read (the first one).</param>
public sealed record AudioInfo(string MediaType, string Container, double DurationSec, string Codec, int SampleRate, int Channels, int StreamIndex);

/// <summary>
/// One window of audio: mono float samples at the requested rate and where they start. Long audio becomes consecutive
/// windows of a fixed length; a clip shorter than one window is one shorter window.
/// </summary>
/// <param name="StartSample">Offset of the first sample from the start of the audio.</param>
/// <param name="Samples">The samples (at most the window length).</param>
/// <param name="SampleRate">Samples per second.</param>
public sealed record AudioWindow(long StartSample, float[] Samples, int SampleRate)
{
    /// <summary>Start of the window in seconds.</summary>
    public double StartSec => (double)StartSample / SampleRate;

    /// <summary>End of the window in seconds (start + its length).</summary>
    public double EndSec => (double)(StartSample + Samples.Length) / SampleRate;
}

/// <summary>
/// Reads audio, or the soundtrack of a video, with FFmpeg: recognised by content, probed with ffprobe, decoded to mono
/// float32 at the requested rate and streamed through a pipe in fixed windows, so a long recording never sits in memory
/// whole. The ffmpeg child is killed when the enumeration ends early, is cancelled or stalls.
/// </summary>
public sealed class AudioReader
{
    private static readonly MediaProbeSpec Probe = MediaProbeSpec.Create<AudioErrorKind>("audio", AudioSniffer.SniffFile,
        "not audio (the content is no known audio or video container: wav, mp3, flac, ogg/opus, m4a/aac, aiff, mp4, mkv/webm, …)",
        (kind, message, inner) => new AudioReadException(kind, message, inner));

    private readonly FfmpegOptions _options;

    /// <summary>Creates a reader that runs FFmpeg with the given options (defaults when null).</summary>
    public AudioReader(FfmpegOptions? options = null) => _options = options ?? new FfmpegOptions();

    /// <summary>The options in use.</summary>
    public FfmpegOptions Options => _options;

    /// <summary>Sniffs and probes a file: it must be an audio or video container with an audio stream.</summary>
    /// <exception cref="AudioReadException">Not audio, empty, damaged, without an audio stream or too long.</exception>
    /// <exception cref="FfmpegNotFoundException">ffprobe is not installed.</exception>
    public async Task<AudioInfo> ProbeAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        (string mediaType, string json) = await MediaProbe.RunAsync(path, _options, Probe, cancellationToken).ConfigureAwait(false);
        AudioInfo info = Parse(json, mediaType, path);
        MediaProbe.CheckDuration(path, info.DurationSec, _options, Probe);
        return info;
    }

    /// <summary>
    /// Streams the audio as consecutive windows of <paramref name="windowSamples"/> mono samples at
    /// <paramref name="sampleRate"/>, starting every <paramref name="hopSamples"/> samples. Audio shorter than a window
    /// is one shorter window; when audio is left after the last full window, one more window ends exactly at the end
    /// (so every sample is covered and every window but a lone short one is full length). One ffmpeg process; memory stays
    /// at a few windows whatever the length.
    /// </summary>
    /// <exception cref="AudioReadException">No sample could be decoded, ffmpeg stalled, or the audio decodes to more than
    /// <see cref="FfmpegOptions.MaxDuration"/> (a container that does not say its duration, or understates it).</exception>
    public async IAsyncEnumerable<AudioWindow> ReadWindowsAsync(string path, AudioInfo info, int sampleRate, int windowSamples, int hopSamples,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSamples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hopSamples);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hopSamples, windowSamples);
        string full = Path.GetFullPath(path);
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using FfmpegProcess process = FfmpegProcess.Start(_options.FfmpegPath,
        [
            "-nostdin", "-hide_banner", "-loglevel", "error",
            "-i", "file:" + full,
            "-map", "0:" + info.StreamIndex.ToString(CultureInfo.InvariantCulture), "-vn", "-sn", "-dn",
            "-ac", "1", "-ar", sampleRate.ToString(CultureInfo.InvariantCulture), "-f", "f32le", "pipe:1",
        ], _options.MaxStderrBytes, stall.Token);

        // The probe's duration comes from the container, which may not say (a streamed Matroska file has no duration) or
        // may understate it: the limit is also enforced on what is decoded (with a second of slack for encoder padding).
        long maxSamples = (long)Math.Min(long.MaxValue / 2, Math.Ceiling(_options.MaxDuration.TotalSeconds * sampleRate)) + sampleRate;
        long decoded = 0;
        float[] window = new float[windowSamples];
        float[]? previous = null;     // the last window given out: the samples before `filled` a final end-aligned window needs
        int filled = 0;
        long start = 0;
        byte[] chunk = ArrayPool<byte>.Shared.Rent(1 << 16);
        int pending = 0;              // bytes of a sample split across reads
        try
        {
            while (true)
            {
                stall.CancelAfter(_options.StallTimeout);
                int read;
                try
                {
                    read = await process.Output.ReadAsync(chunk.AsMemory(pending, chunk.Length - pending), stall.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new AudioReadException(AudioErrorKind.TimedOut, $"{path}: ffmpeg produced no audio for {_options.StallTimeout.TotalSeconds:0} s");
                }

                if (read == 0)
                {
                    break;
                }

                int bytes = pending + read;
                int whole = bytes / 4 * 4;
                int count = whole / 4;
                decoded += count;
                if (decoded > maxSamples)
                {
                    throw new AudioReadException(AudioErrorKind.TooLong, string.Create(CultureInfo.InvariantCulture,
                        $"{path}: the audio decodes to more than the limit of {MediaProbe.FormatDuration(_options.MaxDuration.TotalSeconds)} (its container said {(info.DurationSec > 0 ? MediaProbe.FormatDuration(info.DurationSec) : "no duration")}; {MediaProbe.MaxDurationHint})"));
                }

                int used = 0;
                while (used < count)
                {
                    int take = Math.Min(count - used, windowSamples - filled);
                    Sanitize(MemoryMarshal.Cast<byte, float>(chunk.AsSpan(used * 4, take * 4)), window.AsSpan(filled, take));
                    filled += take;
                    used += take;
                    if (filled == windowSamples)
                    {
                        float[] done = window;
                        yield return new AudioWindow(start, done, sampleRate);
                        previous = done;
                        window = new float[windowSamples];
                        filled = windowSamples - hopSamples;
                        previous.AsSpan(hopSamples).CopyTo(window);
                        start += hopSamples;
                    }
                }

                pending = bytes - whole;
                chunk.AsSpan(whole, pending).CopyTo(chunk);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        int exitCode = await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (previous is null)
        {
            if (filled == 0)
            {
                throw new AudioReadException(AudioErrorKind.Corrupt, $"{path}: no audio could be decoded ({MediaProbe.FailureReason(process, full, path, "ffmpeg", exitCode)})");
            }

            yield return new AudioWindow(0, window.AsSpan(0, filled).ToArray(), sampleRate);
            yield break;
        }

        // Samples after the last full window: one more full window ending at the last sample.
        int fresh = filled - (windowSamples - hopSamples);
        if (fresh > 0)
        {
            float[] last = new float[windowSamples];
            int before = windowSamples - filled;
            previous.AsSpan(hopSamples - before, before).CopyTo(last);
            window.AsSpan(0, filled).CopyTo(last.AsSpan(before));
            yield return new AudioWindow(start + filled - windowSamples, last, sampleRate);
        }
    }

    /// <summary>
    /// Copies samples, replacing NaN with silence and clamping to ±64 (36 dB above full scale): a hostile float WAV
    /// cannot push infinities or NaN into the features, while real clipping (a little beyond ±1) is kept as decoded.
    /// </summary>
    private static void Sanitize(ReadOnlySpan<float> source, Span<float> target)
    {
        for (int i = 0; i < source.Length; i++)
        {
            float v = source[i];
            target[i] = float.IsNaN(v) ? 0 : Math.Clamp(v, -MaxSample, MaxSample);
        }
    }

    private const float MaxSample = 64f;

    internal static AudioInfo Parse(string json, string mediaType, string name)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            JsonElement root = doc.RootElement;
            JsonElement? audio = null;
            bool hasVideo = false;
            if (root.TryGetProperty("streams", out JsonElement streams) && streams.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement stream in streams.EnumerateArray())
                {
                    string? type = Str(stream, "codec_type");
                    if (type == "audio" && audio is null)
                    {
                        audio = stream;
                    }
                    else if (type == "video")
                    {
                        hasVideo = true;
                    }
                }
            }

            JsonElement format = root.TryGetProperty("format", out JsonElement f) ? f : default;
            if (audio is not { } a)
            {
                throw new AudioReadException(AudioErrorKind.NoAudioStream, $"{name}: no audio stream{(hasVideo ? " (a video without sound)" : "")}");
            }

            double duration = Num(format, "duration");
            if (duration <= 0)
            {
                duration = Num(a, "duration");
            }

            return new AudioInfo(
                MediaType: mediaType,
                Container: format.ValueKind == JsonValueKind.Object ? Str(format, "format_name") ?? "" : "",
                DurationSec: Math.Max(0, duration),
                Codec: Str(a, "codec_name") ?? "unknown",
                SampleRate: (int)Num(a, "sample_rate"),
                Channels: a.TryGetProperty("channels", out JsonElement c) && c.TryGetInt32(out int channels) ? channels : 0,
                StreamIndex: a.TryGetProperty("index", out JsonElement i) && i.TryGetInt32(out int index) ? index : 0);
        }
        catch (JsonException ex)
        {
            throw new AudioReadException(AudioErrorKind.Corrupt, $"{name}: ffprobe's answer could not be read ({ex.Message})", ex);
        }
    }
}
