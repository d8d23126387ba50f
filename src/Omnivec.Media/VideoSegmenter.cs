using System.Runtime.CompilerServices;

namespace Omnivec.Media;

/// <summary>One segment of a video: a shot, or a window of a long shot, with the frames sampled inside it.</summary>
public sealed class VideoSegment : IDisposable
{
    internal VideoSegment(int index, double startSec, double endSec, bool startsAtCut, IReadOnlyList<VideoFrame> frames)
    {
        Index = index;
        StartSec = startSec;
        EndSec = endSec;
        StartsAtCut = startsAtCut;
        Frames = frames;
    }

    /// <summary>Position of the segment in the video, from 0.</summary>
    public int Index { get; }

    /// <summary>Start in seconds from the beginning of the video.</summary>
    public double StartSec { get; }

    /// <summary>End in seconds (exclusive; the next segment's start).</summary>
    public double EndSec { get; }

    /// <summary>True when the segment begins at a detected cut (false for the first segment and for windows of a long shot).</summary>
    public bool StartsAtCut { get; }

    /// <summary>The frames sampled evenly inside the segment, in time order (at least one).</summary>
    public IReadOnlyList<VideoFrame> Frames { get; }

    /// <summary>The frame that stands for the segment (the middle sampled one).</summary>
    public VideoFrame Thumbnail => Frames[Frames.Count / 2];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (VideoFrame frame in Frames)
        {
            frame.Dispose();
        }
    }
}

/// <summary>
/// Cuts a video into segments while it streams: shot boundaries from the content change between consecutive analysis
/// frames (<see cref="VideoSegmenterOptions.SceneThreshold"/>), no shot shorter than
/// <see cref="VideoSegmenterOptions.MinShotSec"/>, shots longer than <see cref="VideoSegmenterOptions.MaxSegmentSec"/>
/// split into windows. Memory is bounded whatever the video's length: per open segment only a thinned reservoir of
/// frames (at most twice the frames per segment, at least 8) is kept, from which the sampled frames are chosen evenly.
/// </summary>
public sealed class VideoSegmenter
{
    private readonly VideoSegmenterOptions _options;
    private readonly VideoReader _reader;

    /// <summary>Frames on each side whose scores a cut must stand out from (chosen by the sweep in docs/video.md; 0.7 s at the default analysis rate).</summary>
    internal const int SceneWindow = 7;

    /// <summary>Creates a segmenter with the given options and reader (defaults when null).</summary>
    public VideoSegmenter(VideoSegmenterOptions? options = null, VideoReader? reader = null)
    {
        _options = options ?? new VideoSegmenterOptions();
        _options.Validate();
        _reader = reader ?? new VideoReader();
    }

    /// <summary>The options in use.</summary>
    public VideoSegmenterOptions Options => _options;

    /// <summary>The reader (FFmpeg settings and limits) in use.</summary>
    public VideoReader Reader => _reader;

    /// <summary>Probes the file, then streams its segments. Dispose each segment when done with its frames.</summary>
    public async IAsyncEnumerable<VideoSegment> SegmentAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        VideoInfo info = await _reader.ProbeAsync(path, cancellationToken).ConfigureAwait(false);
        await foreach (VideoSegment segment in SegmentAsync(path, info, cancellationToken).ConfigureAwait(false))
        {
            yield return segment;
        }
    }

    /// <summary>Streams the segments of an already probed file. Dispose each segment when done with its frames.</summary>
    public IAsyncEnumerable<VideoSegment> SegmentAsync(string path, VideoInfo info, CancellationToken cancellationToken = default) =>
        SegmentAsync(path, info, null, 0, cancellationToken);

    /// <summary>
    /// Streams the segments of an already probed file; <paramref name="decoded"/> is told the timestamp of every frame
    /// decoded (on the decoding thread: keep it cheap). Shot detection and the choice of frames run on the thread that
    /// reads ffmpeg's output, frame by frame as it is read; only whole segments cross to the caller.
    /// <paramref name="decodeThreads"/>: the decoder's threads unless the reader's options say (0: FFmpeg's choice).
    /// </summary>
    internal async IAsyncEnumerable<VideoSegment> SegmentAsync(string path, VideoInfo info, Action<double>? decoded, int decodeThreads,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(info);
        double fps = info.FrameRate > 0 ? Math.Min(_options.AnalysisFps, info.FrameRate) : _options.AnalysisFps;
        var builder = new SegmentBuilder(_options, info, fps, decoded);
        await foreach (VideoSegment segment in _reader.ReadFramesAsync(path, info, fps, _options.FrameShortSide, builder, decodeThreads, cancellationToken).ConfigureAwait(false))
        {
            yield return segment;
        }

        if (MediaTelemetry.VideoDecodeDuration.Enabled)
        {
            MediaTelemetry.VideoDecodeDuration.Record(builder.Busy.TotalSeconds);
        }
    }

    /// <summary>
    /// Cuts the frames into segments as they are read (on the reading thread): each frame is scored against the previous
    /// one, the cut rule decides once it has seen <see cref="SceneWindow"/> frames after it (so that many frames wait
    /// here), and decided frames go into the open segment's reservoir; a cut or a full window closes the segment.
    /// </summary>
    private sealed class SegmentBuilder(VideoSegmenterOptions options, VideoInfo info, double fps, Action<double>? decoded)
        : IFrameProcessor<VideoSegment>
    {
        private readonly ContentDetector _detector = new();
        private readonly CutRule<VideoFrame> _rule = new(options.SceneThreshold, options.SceneRatio, SceneWindow, options.MinShotSec);
        private readonly List<(VideoFrame Item, double Time, bool Cut)> _decided = [];
        private readonly Reservoir _reservoir = new(Math.Max(8, 2 * options.FramesPerSegment));
        private int _next;
        private int _index;
        private double _segmentStart;
        private bool _startsAtCut;
        private double _lastTime;
        private readonly long _start = System.Diagnostics.Stopwatch.GetTimestamp();
        private TimeSpan _busy;
        private TimeSpan _waited;

        /// <summary>Time spent decoding and finding shots: the reading thread's time, less its waits for the consumer.</summary>
        public TimeSpan Busy => _busy - _waited;

        public void Waited(TimeSpan time) => _waited += time;

        public void Frame(VideoFrame frame, List<VideoSegment> output)
        {
            decoded?.Invoke(frame.TimestampSec);
            double score;
            try
            {
                score = _detector.Score(frame.Image);
            }
            catch
            {
                frame.Dispose();
                throw;
            }

            _rule.Push(frame, frame.TimestampSec, score, _decided);
            Accept(output);
        }

        public void End(List<VideoSegment> output)
        {
            _rule.Flush(_decided);
            Accept(output);
            if (_reservoir.Count > 0)
            {
                double end = Math.Max(info.DurationSec, _lastTime + 1 / fps);
                Close(output, Math.Max(end, _segmentStart), cut: false);
            }

            _busy = System.Diagnostics.Stopwatch.GetElapsedTime(_start);
        }

        /// <summary>Takes the decided frames into segments.</summary>
        private void Accept(List<VideoSegment> output)
        {
            for (_next = 0; _next < _decided.Count; _next++)
            {
                (VideoFrame frame, double t, bool cut) = _decided[_next];
                _lastTime = t;
                bool window = !cut && t - _segmentStart >= options.MaxSegmentSec - 1e-9 && _reservoir.Count > 0;
                if ((cut && _reservoir.Count > 0) || window)
                {
                    Close(output, t, cut);
                }

                _reservoir.Add(frame);
            }

            _decided.Clear();
            _next = 0;
        }

        /// <summary>Hands out the open segment, ending at <paramref name="end"/>; the next one starts there.</summary>
        private void Close(List<VideoSegment> output, double end, bool cut)
        {
            output.Add(new VideoSegment(_index++, _segmentStart, end, _startsAtCut, _reservoir.Take(options.FramesPerSegment)));
            _segmentStart = end;
            _startsAtCut = cut;
        }

        public void Dispose()
        {
            // Frames decided but not yet taken, frames still waiting for their neighbours, and the open segment's.
            for (int i = _next; i < _decided.Count; i++)
            {
                _decided[i].Item.Dispose();
            }

            _decided.Clear();
            _rule.Flush(_decided);
            foreach ((VideoFrame frame, double _, bool _) in _decided)
            {
                frame.Dispose();
            }

            _decided.Clear();
            _reservoir.Clear();
        }
    }

    /// <summary>
    /// The frames of the open segment, thinned as it grows: every frame is offered, one in <c>stride</c> is kept, and
    /// when the reservoir is full every second kept frame is dropped and the stride doubles; so the kept frames stay
    /// evenly spread over the whole segment in at most <c>capacity</c> frames.
    /// </summary>
    private sealed class Reservoir(int capacity)
    {
        private readonly List<VideoFrame> _frames = new(capacity);
        private long _offered;
        private long _stride = 1;

        public int Count => _frames.Count;

        public void Add(VideoFrame frame)
        {
            if (_offered++ % _stride != 0)
            {
                frame.Dispose();
                return;
            }

            _frames.Add(frame);
            if (_frames.Count >= capacity)
            {
                for (int i = _frames.Count - 1; i >= 0; i--)
                {
                    if (i % 2 == 1)
                    {
                        _frames[i].Dispose();
                        _frames.RemoveAt(i);
                    }
                }

                _stride *= 2;
            }
        }

        /// <summary>Chooses up to <paramref name="count"/> frames evenly (centres of equal parts), hands them over and empties the reservoir.</summary>
        public List<VideoFrame> Take(int count)
        {
            var chosen = new List<VideoFrame>(Math.Min(count, _frames.Count));
            var keep = new HashSet<int>();
            int n = Math.Min(count, _frames.Count);
            for (int i = 0; i < n; i++)
            {
                keep.Add((int)((i + 0.5) * _frames.Count / n));
            }

            for (int i = 0; i < _frames.Count; i++)
            {
                if (keep.Contains(i))
                {
                    chosen.Add(_frames[i]);
                }
                else
                {
                    _frames[i].Dispose();
                }
            }

            _frames.Clear();
            _offered = 0;
            _stride = 1;
            return chosen;
        }

        public void Clear()
        {
            foreach (VideoFrame frame in _frames)
            {
                frame.Dispose();
            }

            _frames.Clear();
        }
    }
}
