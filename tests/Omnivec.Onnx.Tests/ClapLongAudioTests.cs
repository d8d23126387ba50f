using Omnivec.Tests;
using Xunit.Abstractions;

namespace Omnivec.Onnx.Tests;

/// <summary>
/// An hour of audio (generated: silence then a tone, as 48 kHz FLAC of about 2 MB) embedded end to end with the test
/// pack: windows cover the whole duration and the managed heap stays at a few windows, far below the decoded audio.
/// Run alone, so other tests' allocations do not blur the measurement.
/// </summary>
[Collection(nameof(LongAudioMeasurements))]
public sealed class ClapLongAudioTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string Pack = Path.Combine(TestPaths.Fixtures, "models", "tiny-clap-hf");
    private readonly string _folder = Directory.CreateTempSubdirectory("omnivec-long-audio-").FullName;

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
    public async Task An_hour_of_audio_streams_through_the_model_in_bounded_memory_and_every_second_is_covered()
    {
        const int Seconds = 3600 + 5;
        string path = Path.Combine(_folder, "hour.flac");
        TestVideos.Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono:d=3600",
            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=5", "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1",
            "-c:a", "flac", "-compression_level", "0", path]);
        Assert.True(new FileInfo(path).Length < 20_000_000);

        using var clap = ClapEmbeddingGenerator.Load(Pack);
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = baseline, firstHalf = baseline;
        int count = 0;
        AudioSegmentEmbedding? first = null, last = null, previous = null;
        await foreach (AudioSegmentEmbedding w in clap.EmbedAudioFileAsync(path))
        {
            if (previous is not null)
            {
                Assert.True(w.StartSec > previous.StartSec, "windows in order");
                Assert.True(w.StartSec <= previous.EndSec + 1e-9, $"no gap before {w.StartSec} s");
            }

            first ??= w;
            previous = last = w;
            if (++count % 30 == 0)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
                if (count <= 180)
                {
                    firstHalf = peak;
                }
            }
        }

        peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
        long decodedBytes = Seconds * 48_000L * 4;
        output.WriteLine($"{count} windows; managed heap {baseline / 1e6:0.0} MB before, peak {firstHalf / 1e6:0.0} MB in the first half hour, {peak / 1e6:0.0} MB overall (+{(peak - baseline) / 1e6:0.0} MB); the decoded audio is {decodedBytes / 1e6:0} MB");

        Assert.Equal(361, count);                       // 360 full windows, then one ending at the last sample
        Assert.Equal(0, first!.StartSec);
        Assert.Equal(Seconds, last!.EndSec, 2);
        Assert.Equal(Seconds - 10, last.StartSec, 2);
        // The tone at the very end is in the last window: it does not embed like the silence before it.
        Assert.True(VectorMath.Cosine(first.Embedding.Vector.Span, last.Embedding.Vector.Span) < 0.999);
        // Generous: a batch of windows, their features and pooled buffers are live at a time (about 100 MB measured);
        // buffering the file would add 692 MB, and memory growing with the length would show in the second half hour.
        Assert.True(peak - baseline < 200_000_000, $"managed heap grew by {(peak - baseline) / 1e6:0} MB");
        Assert.True(peak - firstHalf < 30_000_000, $"the heap kept growing: {firstHalf / 1e6:0} MB after half an hour, {peak / 1e6:0} MB after an hour");
    }
}

[CollectionDefinition(nameof(LongAudioMeasurements), DisableParallelization = true)]
public sealed class LongAudioMeasurements;
