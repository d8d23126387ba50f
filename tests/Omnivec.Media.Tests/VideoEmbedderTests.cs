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

    [Fact]
    public void Mean_pool_of_unit_vectors_is_normalised_centroid()
    {
        float[] pooled = VideoEmbedder.MeanPool([[3, 0], [0, 5]]);
        Assert.Equal(MathF.Sqrt(0.5f), pooled[0], 5);
        Assert.Equal(MathF.Sqrt(0.5f), pooled[1], 5);
    }
}
