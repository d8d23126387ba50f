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
        SegmentAsync(path, info, null, cancellationToken);

    /// <summary>
    /// Streams the segments of an already probed file; <paramref name="decoded"/> is told the timestamp of every frame
    /// decoded (on the decoding thread: keep it cheap).
    /// </summary>
    internal async IAsyncEnumerable<VideoSegment> SegmentAsync(string path, VideoInfo info, Action<double>? decoded,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(info);
        double fps = info.FrameRate > 0 ? Math.Min(_options.AnalysisFps, info.FrameRate) : _options.AnalysisFps;
        var reservoir = new Reservoir(Math.Max(8, 2 * _options.FramesPerSegment));
        int index = 0;
        double segmentStart = 0;
        bool startsAtCut = false;
        double lastTime = 0;
        // Decode time: the time between segments handed out, not the time the consumer spends on them.
        bool timed = MediaTelemetry.VideoDecodeDuration.Enabled;
        TimeSpan busy = TimeSpan.Zero;
        long mark = timed ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        try
        {
            await foreach ((VideoFrame frame, bool cut) in FramesWithCutsAsync(path, info, fps, decoded, cancellationToken).ConfigureAwait(false))
            {
                double t = frame.TimestampSec;
                lastTime = t;
                bool window = !cut && t - segmentStart >= _options.MaxSegmentSec - 1e-9 && reservoir.Count > 0;
                if ((cut && reservoir.Count > 0) || window)
                {
                    busy += timed ? System.Diagnostics.Stopwatch.GetElapsedTime(mark) : TimeSpan.Zero;
                    yield return new VideoSegment(index++, segmentStart, t, startsAtCut, reservoir.Take(_options.FramesPerSegment));
                    mark = timed ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
                    segmentStart = t;
                    startsAtCut = cut;
                }

                reservoir.Add(frame);
            }

            if (timed)
            {
                MediaTelemetry.VideoDecodeDuration.Record((busy + System.Diagnostics.Stopwatch.GetElapsedTime(mark)).TotalSeconds);
            }

            if (reservoir.Count > 0)
            {
                double end = Math.Max(info.DurationSec, lastTime + 1 / fps);
                yield return new VideoSegment(index, segmentStart, Math.Max(end, segmentStart), startsAtCut, reservoir.Take(_options.FramesPerSegment));
            }
        }
        finally
        {
            reservoir.Clear();
        }
    }

    /// <summary>
    /// The decoded frames in order, each with whether it starts a new shot. The cut rule looks <see cref="SceneWindow"/>
    /// frames ahead, so that many frames wait here; frames never handed out are disposed when the enumeration ends.
    /// </summary>
    private async IAsyncEnumerable<(VideoFrame Frame, bool Cut)> FramesWithCutsAsync(string path, VideoInfo info, double fps,
        Action<double>? decoded, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var detector = new ContentDetector();
        var rule = new CutRule<VideoFrame>(_options.SceneThreshold, _options.SceneRatio, SceneWindow, _options.MinShotSec);
        var decided = new List<(VideoFrame Item, double Time, bool Cut)>();
        int next = 0;
        try
        {
            await foreach (VideoFrame frame in _reader.ReadFramesAsync(path, info, fps, _options.FrameShortSide, cancellationToken).ConfigureAwait(false))
            {
                decoded?.Invoke(frame.TimestampSec);
                rule.Push(frame, frame.TimestampSec, detector.Score(frame.Image), decided);
                for (next = 0; next < decided.Count; next++)
                {
                    yield return (decided[next].Item, decided[next].Cut);
                }

                decided.Clear();
                next = 0;
            }

            rule.Flush(decided);
            for (next = 0; next < decided.Count; next++)
            {
                yield return (decided[next].Item, decided[next].Cut);
            }

            decided.Clear();
            next = 0;
        }
        finally
        {
            // Frames decided but not handed out, and frames still waiting for their neighbours.
            for (int i = next + 1; i < decided.Count; i++)
            {
                decided[i].Item.Dispose();
            }

            decided.Clear();
            rule.Flush(decided);
            foreach ((VideoFrame frame, double _, bool _) in decided)
            {
                frame.Dispose();
            }
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
