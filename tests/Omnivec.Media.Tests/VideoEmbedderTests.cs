using Microsoft.Extensions.AI;

namespace Omnivec.Media.Tests;

[Collection(VideoCollection.Name)]
public sealed class VideoEmbedderTests(VideoFixture videos)
{
    /// <summary>An image embedder that only takes encoded images (like a cloud API): its vector is the mean colour of the JPEG.</summary>
    private sealed class MeanColourEmbedder : IEmbeddingGenerator<DataContent, Embedding<float>>
    {
        public int Calls { get; private set; }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var decoder = new Omnivec.Imaging.ImageDecoder();
            var result = new GeneratedEmbeddings<Embedding<float>>();
            foreach (DataContent value in values)
            {
                Calls++;
                Assert.Equal("image/jpeg", value.MediaType);
                using Omnivec.RgbImage image = decoder.Decode(value.Data.Span, cancellationToken: cancellationToken);
                double r = 0, g = 0, b = 0;
                ReadOnlySpan<byte> p = image.Pixels;
                for (int i = 0; i < p.Length; i += 3)
                {
                    r += p[i];
                    g += p[i + 1];
                    b += p[i + 2];
                }

                result.Add(new Embedding<float>(new[] { (float)r, (float)g, (float)b }));
            }

            return Task.FromResult(result);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task Every_segment_gets_a_pooled_unit_vector_and_a_thumbnail()
    {
        var generator = new MeanColourEmbedder();
        var embedder = new VideoEmbedder(generator, new VideoSegmenter(new VideoSegmenterOptions { FramesPerSegment = 3 }));
        IReadOnlyList<VideoSegmentVector> segments = await embedder.EmbedAllAsync(videos.File("shots.mp4"), thumbnails: true);
        Assert.Equal(3, segments.Count);
        Assert.Equal(9, generator.Calls);
        foreach (VideoSegmentVector s in segments)
        {
            float norm = MathF.Sqrt(s.Embedding.Vector.Span.ToArray().Sum(x => x * x));
            Assert.Equal(1f, norm, 4);
            Assert.Equal(0xFF, s.ThumbnailJpeg.Span[0]);
            Assert.Equal(0xD8, s.ThumbnailJpeg.Span[1]);
        }

        // Bananas (yellow) and tomatoes (red) shots differ in colour: their vectors must differ too.
        float dot = 0;
        for (int i = 0; i < 3; i++)
        {
            dot += segments[1].Embedding.Vector.Span[i] * segments[2].Embedding.Vector.Span[i];
        }

        Assert.True(dot < 0.999f, $"cosine {dot}");
    }

    /// <summary>A local-model stand-in: takes RGB frames (<see cref="Omnivec.Preprocessing.IRgbImageEmbedder"/>); the vector is the first pixel.</summary>
    private sealed class LocalRgbEmbedder : IEmbeddingGenerator<DataContent, Embedding<float>>, Omnivec.Preprocessing.IRgbImageEmbedder
    {
        public float[][] EmbedImages(IReadOnlyList<Omnivec.RgbImage> images, CancellationToken cancellationToken = default) =>
            [.. images.Select(i => new float[] { i.Pixels[0] + 1, i.Pixels[1] + 1, i.Pixels[2] + 1 })];

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("frames must come as RGB");

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }
    }

    [Theory]
    [InlineData("local", 0)]
    [InlineData("cloud", 0)]
    [InlineData("local", 3)]
    public async Task The_decoder_gets_half_the_cores_beside_a_local_model_and_all_of_them_otherwise(string embedder, int configured)
    {
        // ffmpeg behind a script that records its arguments: the thread count is an input option, before -i.
        string log = videos.File($"ffmpeg-args-{embedder}-{configured}.txt");
        string script = videos.File($"ffmpeg-{embedder}-{configured}.sh");
        File.WriteAllText(script, $"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{log}'\nexec ffmpeg \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var reader = new VideoReader(new FfmpegOptions { FfmpegPath = script, DecodeThreads = configured });
        IEmbeddingGenerator<DataContent, Embedding<float>> generator = embedder == "local" ? new LocalRgbEmbedder() : new MeanColourEmbedder();
        IReadOnlyList<VideoSegmentVector> segments = await new VideoEmbedder(generator, new VideoSegmenter(reader: reader)).EmbedAllAsync(videos.File("shots.mp4"));
        Assert.Equal(3, segments.Count);

        string[] args = File.ReadAllLines(log);
        int input = Array.IndexOf(args, "-i");
        int threads = Array.IndexOf(args, "-threads");
        string? expected = (embedder, configured) switch
        {
            (_, > 0) => configured.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ("local", _) => Math.Max(1, Environment.ProcessorCount / 2).ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => null,
        };
        if (expected is null)
        {
            Assert.Equal(-1, threads);
        }
        else
        {
            Assert.InRange(threads, 0, input - 2);
            Assert.Equal(expected, args[threads + 1]);
        }
    }

    [Fact]
    public void Mean_pool_of_unit_vectors_is_normalised_centroid()
    {
        float[] pooled = VideoEmbedder.MeanPool([[3, 0], [0, 5]]);
        Assert.Equal(MathF.Sqrt(0.5f), pooled[0], 5);
        Assert.Equal(MathF.Sqrt(0.5f), pooled[1], 5);
    }

    /// <summary>Collects reports on the caller's thread, in the order they are made (Progress&lt;T&gt; would post them out of order).</summary>
    private sealed class Recorder : IProgress<VideoProgress>
    {
        public List<VideoProgress> Reports { get; } = [];

        public void Report(VideoProgress value)
        {
            lock (Reports)
            {
                Reports.Add(value);
            }
        }
    }

    [Fact]
    public async Task Progress_reports_decoding_and_embedding_in_order_up_to_the_whole_video()
    {
        var recorder = new Recorder();
        var embedder = new VideoEmbedder(new MeanColourEmbedder());
        var segments = new List<VideoSegmentVector>();
        await foreach (VideoSegmentVector segment in embedder.EmbedAsync(videos.File("long.mp4"), progress: recorder))
        {
            segments.Add(segment);
            // Reported before the segment is handed out: the count already includes it.
            Assert.Equal(segments.Count, recorder.Reports[^1].SegmentsEmbedded);
        }

        VideoProgress[] reports = [.. recorder.Reports];
        Assert.All(reports, r => Assert.Equal(40, r.DurationSec, 1));
        for (int i = 1; i < reports.Length; i++)
        {
            Assert.True(reports[i].DecodedSec >= reports[i - 1].DecodedSec, $"decoded went back at {i}");
            Assert.True(reports[i].SegmentsEmbedded >= reports[i - 1].SegmentsEmbedded, $"segments went back at {i}");
            Assert.True(reports[i].EmbeddedSec >= reports[i - 1].EmbeddedSec, $"embedded went back at {i}");
        }

        // Decoding is reported every half second of video (about 80 reports for 40 s), not only at the segments' ends.
        Assert.True(reports.Count(r => r.DecodedSec is > 0 and < 39) >= 40, string.Join(", ", reports.Select(r => r.DecodedSec)));
        Assert.Equal(segments.Count, reports[^1].SegmentsEmbedded);
        Assert.Equal(segments[^1].EndSec, reports[^1].EmbeddedSec, 6);
        Assert.Equal(1.0, reports[^1].DecodedFraction!.Value, 6);
    }
}
