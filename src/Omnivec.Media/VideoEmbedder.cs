using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Omnivec.Imaging;
using Omnivec.Preprocessing;

namespace Omnivec.Media;

/// <summary>The vector of one video segment.</summary>
/// <param name="Index">Position of the segment in the video, from 0.</param>
/// <param name="StartSec">Start in seconds.</param>
/// <param name="EndSec">End in seconds.</param>
/// <param name="Embedding">The segment's vector: the mean of its frames' unit vectors, L2-normalised.</param>
public sealed record VideoSegmentVector(int Index, double StartSec, double EndSec, Embedding<float> Embedding)
{
    /// <summary>True when the segment starts at a detected cut.</summary>
    public bool StartsAtCut { get; init; }

    /// <summary>A JPEG of the segment's middle sampled frame (short side <see cref="VideoSegmenterOptions.FrameShortSide"/>), when asked for.</summary>
    public ReadOnlyMemory<byte> ThumbnailJpeg { get; init; }
}

/// <summary>How far <see cref="VideoEmbedder.EmbedAsync"/> has got through a video.</summary>
/// <param name="DecodedSec">Timestamp of the last frame decoded and analysed for cuts, in seconds (decoding runs at most a few segments ahead of embedding).</param>
/// <param name="DurationSec">The video's duration from the probe, in seconds; 0 when the container does not say.</param>
/// <param name="SegmentsEmbedded">Segments embedded so far.</param>
/// <param name="EmbeddedSec">End of the last segment embedded, in seconds.</param>
public sealed record VideoProgress(double DecodedSec, double DurationSec, int SegmentsEmbedded, double EmbeddedSec)
{
    /// <summary>The share of the video decoded, 0 to 1 (null when the duration is unknown).</summary>
    public double? DecodedFraction => DurationSec > 0 ? Math.Clamp(DecodedSec / DurationSec, 0, 1) : null;
}

/// <summary>
/// Embeds a video into one vector per segment with any image embedder
/// (<see cref="IEmbeddingGenerator{DataContent, Embedding}"/>): the segmenter's sampled frames of each segment are embedded
/// and mean-pooled. Frames go to the embedder as RGB when it offers <see cref="IRgbImageEmbedder"/> (local models), else
/// as JPEG <see cref="DataContent"/> (cloud image APIs). Decoding of the next segment overlaps embedding of the current one.
/// </summary>
/// <remarks>
/// Why the mean: frames of one shot are near each other in CLIP-like spaces, so their centroid is a vector that scores
/// well for what the whole segment shows and is robust to one blurred or transitional frame (max-pooling per
/// dimension would leave the space the text tower maps into). Frames are sampled at the centres of equal parts of the
/// segment, so a window of a long shot is represented by its whole length, not its first second.
/// </remarks>
public sealed class VideoEmbedder
{
    private readonly IEmbeddingGenerator<DataContent, Embedding<float>> _generator;
    private readonly IRgbImageEmbedder? _rgb;
    private readonly VideoSegmenter _segmenter;

    /// <summary>Embeds videos with <paramref name="generator"/>, segmented by <paramref name="segmenter"/> (defaults when null).</summary>
    public VideoEmbedder(IEmbeddingGenerator<DataContent, Embedding<float>> generator, VideoSegmenter? segmenter = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _generator = generator;
        _rgb = generator.GetService(typeof(IRgbImageEmbedder)) as IRgbImageEmbedder;
        _segmenter = segmenter ?? new VideoSegmenter();
    }

    /// <summary>The segmenter in use.</summary>
    public VideoSegmenter Segmenter => _segmenter;

    /// <summary>
    /// The decoder's threads unless <see cref="FfmpegOptions.DecodeThreads"/> says: a local model (RGB frames) runs on
    /// this machine's cores beside the decoder, so the decoder gets half of them; a cloud embedder leaves them all to FFmpeg.
    /// </summary>
    private int DecodeThreads => _rgb is not null ? Math.Max(1, Environment.ProcessorCount / 2) : 0;

    /// <summary>Probes and embeds a video; all segment vectors in time order.</summary>
    public async Task<IReadOnlyList<VideoSegmentVector>> EmbedAllAsync(string path, bool thumbnails = false, CancellationToken cancellationToken = default)
    {
        var all = new List<VideoSegmentVector>();
        await foreach (VideoSegmentVector v in EmbedAsync(path, null, thumbnails, null, cancellationToken).ConfigureAwait(false))
        {
            all.Add(v);
        }

        return all;
    }

    /// <summary>
    /// Streams segment vectors in time order. Pass <paramref name="info"/> when the file is already probed.
    /// <paramref name="progress"/>, when given, is told how far decoding and embedding have got: after every half second
    /// of video decoded and after every segment embedded, in order, with values that never go back (calls come from
    /// the decoding and the embedding threads, one at a time: keep <see cref="IProgress{T}.Report"/> cheap).
    /// </summary>
    public async IAsyncEnumerable<VideoSegmentVector> EmbedAsync(string path, VideoInfo? info = null, bool thumbnails = false,
        IProgress<VideoProgress>? progress = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        info ??= await _segmenter.Reader.ProbeAsync(path, cancellationToken).ConfigureAwait(false);
        var tracker = progress is null ? null : new ProgressTracker(progress, info.DurationSec);
        var channel = Channel.CreateBounded<VideoSegment>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task producer = Task.Run(async () =>
        {
            try
            {
                await foreach (VideoSegment segment in _segmenter.SegmentAsync(path, info, tracker is null ? null : tracker.Decoded, DecodeThreads, stop.Token).ConfigureAwait(false))
                {
                    try
                    {
                        await channel.Writer.WriteAsync(segment, stop.Token).ConfigureAwait(false);
                    }
                    catch
                    {
                        segment.Dispose();
                        throw;
                    }
                }

                channel.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                channel.Writer.TryComplete(ex);
            }
        }, CancellationToken.None);

        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out VideoSegment? segment))
                {
                    VideoSegmentVector vector;
                    using (segment)
                    {
                        vector = await EmbedSegmentAsync(segment, thumbnails, cancellationToken).ConfigureAwait(false);
                    }

                    tracker?.Embedded(vector.EndSec);

                    yield return vector;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await producer.ConfigureAwait(false);
            while (channel.Reader.TryRead(out VideoSegment? left))
            {
                left.Dispose();
            }
        }
    }

    /// <summary>Embeds the sampled frames of one segment and pools them.</summary>
    public async Task<VideoSegmentVector> EmbedSegmentAsync(VideoSegment segment, bool thumbnail = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segment);
        float[][] vectors;
        if (_rgb is not null)
        {
            vectors = _rgb.EmbedImages([.. segment.Frames.Select(f => f.Image)], cancellationToken);
        }
        else
        {
            DataContent[] frames = [.. segment.Frames.Select(f => new DataContent(Jpeg.Encode(f.Image, 90), "image/jpeg"))];
            GeneratedEmbeddings<Embedding<float>> embeddings = await _generator.GenerateAsync(frames, cancellationToken: cancellationToken).ConfigureAwait(false);
            vectors = [.. embeddings.Select(e => e.Vector.ToArray())];
        }

        return new VideoSegmentVector(segment.Index, segment.StartSec, segment.EndSec, new Embedding<float>(MeanPool(vectors)))
        {
            StartsAtCut = segment.StartsAtCut,
            ThumbnailJpeg = thumbnail ? Jpeg.Encode(segment.Thumbnail.Image) : default,
        };
    }

    /// <summary>Keeps the progress of one video and reports it, one call at a time, never going back.</summary>
    private sealed class ProgressTracker(IProgress<VideoProgress> progress, double durationSec)
    {
        /// <summary>Seconds of video decoded between two decode reports.</summary>
        private const double DecodeStep = 0.5;

        private readonly Lock _gate = new();
        private double _decoded;
        private double _reportedDecoded = double.NegativeInfinity;
        private int _segments;
        private double _embedded;

        public void Decoded(double timestampSec)
        {
            lock (_gate)
            {
                _decoded = Math.Max(_decoded, timestampSec);
                if (_decoded - _reportedDecoded >= DecodeStep)
                {
                    Report();
                }
            }
        }

        public void Embedded(double endSec)
        {
            lock (_gate)
            {
                _segments++;
                _embedded = Math.Max(_embedded, endSec);
                // A segment's end is where the next one starts: its frames were decoded.
                _decoded = Math.Max(_decoded, Math.Min(_embedded, durationSec > 0 ? durationSec : _embedded));
                Report();
            }
        }

        private void Report()
        {
            _reportedDecoded = _decoded;
            progress.Report(new VideoProgress(_decoded, durationSec, _segments, _embedded));
        }
    }

    /// <summary>The mean of the unit vectors, L2-normalised.</summary>
    internal static float[] MeanPool(IReadOnlyList<float[]> vectors)
    {
        if (vectors.Count == 0)
        {
            throw new InvalidOperationException("A segment has no frames to pool.");
        }

        float[] sum = new float[vectors[0].Length];
        foreach (float[] v in vectors)
        {
            float norm = TensorPrimitives.Norm(v);
            if (norm > 0)
            {
                TensorPrimitives.MultiplyAdd(v, 1 / norm, sum, sum);
            }
        }

        float total = TensorPrimitives.Norm(sum);
        if (total > 0)
        {
            TensorPrimitives.Divide(sum, total, sum);
        }

        return sum;
    }
}
