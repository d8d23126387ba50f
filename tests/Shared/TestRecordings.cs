using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Omnivec.Tests;

/// <summary>
/// Real recordings made in the test: speech from <c>espeak-ng</c> and sounds synthesised by <c>sox</c> (both installed by
/// .ci/run), decoded with FFmpeg exactly as Omnivec's audio reader decodes them (mono float32 at 48 kHz).
/// </summary>
internal static class TestRecordings
{
    public const int Rate = 48_000;

    /// <summary>Speaks <paramref name="text"/> with espeak-ng (American English, its own 22.05 kHz 16-bit WAV).</summary>
    public static string Speech(string folder, string name, string text, int wordsPerMinute = 160)
    {
        string path = Path.Combine(folder, name);
        TestVideos.Run("espeak-ng", ["-v", "en-us", "-s", wordsPerMinute.ToString(CultureInfo.InvariantCulture), "-w", path, text]);
        return path;
    }

    /// <summary>
    /// Synthesises a sound with sox: <c>sox -R -n -r RATE -c CHANNELS -b 16 PATH synth …</c> (<c>-R</c>: repeatable
    /// noise and dither).
    /// </summary>
    public static string Sox(string folder, string name, string[] synth, int rate = Rate, int channels = 1)
    {
        string path = Path.Combine(folder, name);
        TestVideos.Run("sox", ["-R", "-n", "-r", rate.ToString(CultureInfo.InvariantCulture), "-c", channels.ToString(CultureInfo.InvariantCulture),
            "-b", "16", path, "synth", .. synth]);
        return path;
    }

    /// <summary>Converts any recording to a 48 kHz mono 16-bit WAV with FFmpeg (as a user's recordings folder would hold).</summary>
    public static string ToWav48k(string input, string output)
    {
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-i", input, "-ac", "1", "-ar", "48000", "-c:a", "pcm_s16le", output]);
        return output;
    }

    /// <summary>
    /// The audio of a file as Omnivec's reader decodes it: FFmpeg's mono float32 at 48 kHz (first audio stream, the same
    /// arguments as <c>AudioReader</c>).
    /// </summary>
    public static float[] Decode(string path)
    {
        string raw = Path.Combine(Path.GetTempPath(), $"omnivec-decode-{Environment.ProcessId}-{Guid.NewGuid():N}.f32");
        try
        {
            TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-i", path, "-map", "0:a:0", "-vn", "-sn", "-dn",
                "-ac", "1", "-ar", "48000", "-f", "f32le", raw]);
            return MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(raw)).ToArray();
        }
        finally
        {
            File.Delete(raw);
        }
    }

    /// <summary>
    /// Where Omnivec's windows of audio of <paramref name="length"/> samples start (hop = window): every full window,
    /// then one ending exactly at the end when samples are left; a clip no longer than a window is one window at 0.
    /// </summary>
    public static long[] WindowStarts(long length, int window)
    {
        var starts = new List<long> { 0 };
        for (long s = window; s + window <= length; s += window)
        {
            starts.Add(s);
        }

        if (length > window && length % window != 0)
        {
            starts.Add(length - window);
        }

        return [.. starts];
    }

    /// <summary>Writes mono IEEE float32 samples as a WAV, so FFmpeg decodes exactly these samples back.</summary>
    public static string WriteFloatWav(string path, ReadOnlySpan<float> samples, int rate = Rate)
    {
        byte[] bytes = new byte[44 + samples.Length * 4];
        "RIFF"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), 36 + samples.Length * 4);
        "WAVEfmt "u8.CopyTo(bytes.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(20), 3); // IEEE float
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(22), 1);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(24), rate);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(28), rate * 4);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(32), 4);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(34), 32);
        "data"u8.CopyTo(bytes.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(40), samples.Length * 4);
        MemoryMarshal.AsBytes(samples).CopyTo(bytes.AsSpan(44));
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
