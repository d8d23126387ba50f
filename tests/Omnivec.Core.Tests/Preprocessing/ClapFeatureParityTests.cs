using System.Runtime.InteropServices;
using Omnivec.Preprocessing;
using Omnivec.Tests;
using Xunit.Abstractions;

namespace Omnivec.Core.Tests.Preprocessing;

/// <summary>
/// CLAP features against the reference, transformers.js's ClapFeatureExtractor (npm @huggingface/transformers 4.3.1,
/// tools/clap-reference), built from the same preprocessor_config.json, on generated signals and on recordings made in the
/// test with espeak-ng and sox.
/// </summary>
public sealed class ClapFeatureParityTests(ITestOutputHelper output)
{
    private const int Rate = 48_000;
    private const int Max = 480_000;

    // The reference rounds the power spectrum and the mel projection to float32; Omnivec keeps double like Python.
    // Measured: at most 7.6e-6 dB apart (one float32 step at -80 dB); 1e-4 dB is a relative power difference of 2e-5.
    private const double ToleranceDb = 1e-4;

    private static readonly string Config = Path.Combine(TestPaths.Fixtures, "models", "tiny-clap-hf", "preprocessor_config.json");

    /// <summary>The test signals: name and samples (mono, 48 kHz).</summary>
    public static IEnumerable<(string Name, float[] Samples)> Signals()
    {
        yield return ("tone 440 Hz, 1.7 s", Tone(440, 0.5, (int)(1.7 * Rate)));
        yield return ("tone 3 kHz, 10 s exactly", Tone(3000, 0.8, Max));
        yield return ("two tones 200 Hz + 9 kHz, 6.25 s", Add(Tone(200, 0.4, 300_000), Tone(9000, 0.2, 300_000)));
        yield return ("chirp 20 Hz-20 kHz, 10 s", Chirp(20, 20_000, 0.7, Max));
        yield return ("chirp 100 Hz-2 kHz, 4.4 s", Chirp(100, 2000, 0.5, 211_200));
        yield return ("white noise, 10 s", Noise(1, 0.3, Max));
        yield return ("white noise, 2.9 s", Noise(2, 0.05, 139_200));
        yield return ("silence, 10 s", new float[Max]);
        yield return ("silence, 0.3 s", new float[14_400 + 1]);
        yield return ("clipped tone (x3, clamped at ±1), 5.3 s", Clip(Tone(1000, 3, 254_400 + 7), 1));
        yield return ("impulse train, 3.1 s", Impulses(148_800 + 11));
        yield return ("very quiet noise around the -100 dB floor, 10 s", Noise(3, 6e-6, Max));
        yield return ("7 samples", Noise(4, 0.5, 7));
        yield return ("one sample", [0.25f]);
        // Lengths that divide 480,000: Python tiles max // len copies; transformers.js one copy fewer (see PaddedForReference).
        yield return ("tone 1 kHz, 1 s (divides 10 s)", Tone(1000, 0.5, Rate));
        yield return ("noise, 0.5 s (divides 10 s)", Noise(5, 0.4, 24_000));
        yield return ("chirp, 2.5 s (divides 10 s)", Chirp(300, 5000, 0.6, 120_000));
    }

    [Fact]
    public void Features_equal_transformers_js_on_every_test_signal()
    {
        var extractor = ClapFeatureExtractor.FromDirectory(Path.GetDirectoryName(Config)!);
        (string Name, float[] Samples)[] signals = Signals().ToArray();
        float[][] reference = Reference(signals.Select(s => PaddedForReference(s.Samples)).ToArray());
        double worst = 0;
        for (int i = 0; i < signals.Length; i++)
        {
            float[] ours = new float[extractor.FeatureLength];
            extractor.Extract(signals[i].Samples, ours);
            Assert.Equal(reference[i].Length, ours.Length);
            (double maxDiff, int at) = MaxDiff(ours, reference[i]);
            output.WriteLine($"{signals[i].Name}: max |Δ| {maxDiff:E2} dB (frame {at / 64}, band {at % 64}; ours {ours[at]:0.0000}, reference {reference[i][at]:0.0000})");
            Assert.True(maxDiff <= ToleranceDb, $"{signals[i].Name}: features differ by {maxDiff} dB at frame {at / 64}, band {at % 64}");
            worst = Math.Max(worst, maxDiff);
        }

        output.WriteLine($"worst over {signals.Length} signals: {worst:E2} dB");
    }

    [Fact]
    public void Windows_of_long_audio_equal_the_reference_on_each_window()
    {
        // 25 s: windows [0, 10), [10, 20) and the last one aligned to the end, [15, 25), as Omnivec cuts long audio.
        float[] audio = Add(Chirp(50, 12_000, 0.5, 25 * Rate), Noise(6, 0.02, 25 * Rate));
        int[] starts = [0, Max, 25 * Rate - Max];
        float[][] windows = starts.Select(s => audio.AsSpan(s, Max).ToArray()).ToArray();
        float[][] reference = Reference(windows);
        var extractor = ClapFeatureExtractor.FromDirectory(Path.GetDirectoryName(Config)!);
        for (int w = 0; w < windows.Length; w++)
        {
            float[] ours = new float[extractor.FeatureLength];
            extractor.Extract(windows[w], ours);
            (double maxDiff, _) = MaxDiff(ours, reference[w]);
            output.WriteLine($"window at {starts[w] / (double)Rate:0.0} s: max |Δ| {maxDiff:E2} dB");
            Assert.True(maxDiff <= ToleranceDb, $"window {w}: {maxDiff} dB");
        }
    }

    [Fact]
    public void Real_speech_and_sox_recordings_equal_the_reference_on_every_window()
    {
        // Recordings made here: espeak-ng speech under, at and over 10 s and sox synthesis (a plucked string, a sweep,
        // band-passed pink noise with tremolo over 10 s, an overdriven square wave with reverb at 44.1 kHz stereo, a 2.5 s
        // tone burst whose length divides 10 s), decoded by FFmpeg as Omnivec's reader decodes them; long ones are cut
        // into Omnivec's 10 s windows (the last one ending at the end) and each window is compared.
        string dir = Directory.CreateTempSubdirectory("omnivec-clap-recordings-").FullName;
        try
        {
            const string Paragraph = "The quick brown fox jumps over the lazy dog. A second sentence follows, about the weather in the mountains, " +
                "where rain falls on the window and the wind blows through the trees. Then a third sentence counts from one to twelve: " +
                "one, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve.";
            float[] paragraph = TestRecordings.Decode(TestRecordings.Speech(dir, "paragraph.wav", Paragraph));
            Assert.InRange(paragraph.Length, 15 * Rate, 40 * Rate);
            var recordings = new List<(string Name, float[] Samples)>
            {
                ("speech 'a dog barking'", TestRecordings.Decode(TestRecordings.Speech(dir, "dog.wav", "a dog barking"))),
                ("speech, two sentences", TestRecordings.Decode(TestRecordings.Speech(dir, "sentences.wav", "Rain on a window. A crowd cheering in a stadium, then silence."))),
                ("speech cut to exactly 10 s (from 5 s on)", paragraph.AsSpan(5 * Rate, Max).ToArray()),
                ("speech paragraph", paragraph),
                ("sox pluck C4, 3.3 s", TestRecordings.Decode(TestRecordings.Sox(dir, "pluck.wav", ["3.3", "pluck", "C4"]))),
                ("sox sine sweep 100 Hz-8 kHz, 6 s", TestRecordings.Decode(TestRecordings.Sox(dir, "sweep.wav", ["6", "sine", "100-8000"]))),
                ("sox rain-like noise, 12 s", TestRecordings.Decode(TestRecordings.Sox(dir, "rain.wav", ["12", "pinknoise", "band", "2000", "1500", "tremolo", "3", "40"]))),
                ("sox square with overdrive and reverb, 44.1 kHz stereo", TestRecordings.Decode(TestRecordings.Sox(dir, "square.wav",
                    ["4", "square", "220", "overdrive", "10", "gain", "-6", "reverb"], rate: 44_100, channels: 2))),
                ("sox tone burst, 2.5 s (divides 10 s)", TestRecordings.Decode(TestRecordings.Sox(dir, "burst.wav", ["2.5", "sine", "880", "fade", "0.2", "2.5", "0.5"]))),
            };

            var windows = new List<(string Name, float[] Samples)>();
            foreach ((string name, float[] samples) in recordings)
            {
                Assert.True(samples.Length > 0, name);
                foreach (long start in TestRecordings.WindowStarts(samples.Length, Max))
                {
                    int length = (int)Math.Min(Max, samples.Length - start);
                    windows.Add(($"{name} @ {start / (double)Rate:0.00} s", samples.AsSpan((int)start, length).ToArray()));
                }
            }

            Assert.True(windows.Count >= recordings.Count + 3, "the paragraph and the rain give several windows");
            var extractor = ClapFeatureExtractor.FromDirectory(Path.GetDirectoryName(Config)!);
            float[][] reference = Reference(windows.Select(w => PaddedForReference(w.Samples)).ToArray());
            for (int i = 0; i < windows.Count; i++)
            {
                float[] ours = new float[extractor.FeatureLength];
                extractor.Extract(windows[i].Samples, ours);
                (double maxDiff, int at) = MaxDiff(ours, reference[i]);
                output.WriteLine($"{windows[i].Name} ({windows[i].Samples.Length} samples): max |Δ| {maxDiff:E2} dB");
                Assert.True(maxDiff <= ToleranceDb, $"{windows[i].Name}: features differ by {maxDiff} dB at frame {at / 64}, band {at % 64}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Repeatpad_follows_Python_where_transformers_js_tiles_one_copy_fewer()
    {
        // A 1 s tone: Python's extractor (and LAION's training code) tiles 10 copies; transformers.js leaves the last
        // second silent. Omnivec follows Python, so its features equal the reference given the 10 copies and differ
        // from the reference given the raw clip in the last second only.
        float[] tone = Tone(700, 0.5, Rate);
        float[][] reference = Reference([tone]);
        var extractor = ClapFeatureExtractor.FromDirectory(Path.GetDirectoryName(Config)!);
        float[] ours = new float[extractor.FeatureLength];
        extractor.Extract(tone, ours);
        int lastSecondFrame = 9 * Rate / 480 + 2; // past the frames whose window still reaches into the 9th copy
        Assert.True(MaxDiff(ours.AsSpan(0, (lastSecondFrame - 4) * 64), reference[0].AsSpan(0, (lastSecondFrame - 4) * 64)).Max <= ToleranceDb);
        Assert.True(ours[(lastSecondFrame + 50) * 64 + 10] > -60, "Omnivec's last second holds the tone");
        Assert.Equal(-100f, reference[0][(lastSecondFrame + 50) * 64 + 10], 3);
    }

    /// <summary>
    /// What the reference is given so it computes Python's features: clips whose length divides the input length are
    /// padded here the Python way (transformers.js's loop stops one copy early for them); all others go in raw and are
    /// padded by the reference itself.
    /// </summary>
    private static float[] PaddedForReference(float[] clip)
    {
        if (clip.Length >= Max || Max % clip.Length != 0)
        {
            return clip;
        }

        float[] padded = new float[Max];
        for (int at = 0; at < Max; at += clip.Length)
        {
            clip.CopyTo(padded, at);
        }

        return padded;
    }

    private static float[][] Reference(float[][] inputs)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"omnivec-clap-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var items = new List<object>();
            for (int i = 0; i < inputs.Length; i++)
            {
                string input = Path.Combine(dir, $"{i}.in.f32");
                File.WriteAllBytes(input, MemoryMarshal.AsBytes(inputs[i].AsSpan()).ToArray());
                items.Add(new { input, output = Path.Combine(dir, $"{i}.out.f32") });
            }

            TransformersJs.RunScript("features.mjs", new { config = Config, items });
            return Enumerable.Range(0, inputs.Length)
                .Select(i => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(dir, $"{i}.out.f32"))).ToArray())
                .ToArray();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (double Max, int At) MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double max = 0;
        int at = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            if (!(d <= max))
            {
                max = d;
                at = i;
            }
        }

        return (max, at);
    }

    internal static float[] Tone(double hz, double amplitude, int length)
    {
        var s = new float[length];
        for (int i = 0; i < length; i++)
        {
            s[i] = (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / Rate));
        }

        return s;
    }

    internal static float[] Chirp(double f0, double f1, double amplitude, int length)
    {
        var s = new float[length];
        double duration = (double)length / Rate;
        for (int i = 0; i < length; i++)
        {
            double t = (double)i / Rate;
            s[i] = (float)(amplitude * Math.Sin(2 * Math.PI * (f0 * t + (f1 - f0) * t * t / (2 * duration))));
        }

        return s;
    }

    internal static float[] Noise(int seed, double amplitude, int length)
    {
        var random = new Random(seed);
        var s = new float[length];
        for (int i = 0; i < length; i++)
        {
            s[i] = (float)(amplitude * (2 * random.NextDouble() - 1));
        }

        return s;
    }

    private static float[] Impulses(int length)
    {
        var s = new float[length];
        for (int i = 0; i < length; i += 4801)
        {
            s[i] = 0.9f;
        }

        return s;
    }

    private static float[] Add(float[] a, float[] b) => a.Select((v, i) => v + b[i]).ToArray();

    private static float[] Clip(float[] a, float limit) => a.Select(v => Math.Clamp(v, -limit, limit)).ToArray();
}
