using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Omnivec.Imaging;

using static Omnivec.Media.MediaProbe;

namespace Omnivec.Media;

/// <summary>One decoded frame: upright RGB at reduced size and its presentation time. Dispose it to return the pixels.</summary>
public sealed class VideoFrame : IDisposable
{
    internal VideoFrame(double timestampSec, RgbImage image)
    {
        TimestampSec = timestampSec;
        Image = image;
    }

    /// <summary>Presentation time in seconds from the start of the video.</summary>
    public double TimestampSec { get; }

    /// <summary>The pixels, upright (rotation metadata applied).</summary>
    public RgbImage Image { get; }

    /// <inheritdoc />
    public void Dispose() => Image.Dispose();
}

/// <summary>
/// Reads videos with FFmpeg: metadata from ffprobe, frames streamed from ffmpeg as raw RGB through a pipe (one frame in
/// memory at a time), sampled by presentation time so variable frame rate videos are sampled evenly in time.
/// </summary>
public sealed class VideoReader
{
    private static readonly MediaProbeSpec Probe = MediaProbeSpec.Create<VideoErrorKind>("video", VideoSniffer.SniffFile,
        "not a video (the content is no known video container: mp4, mov, mkv, webm, avi, mpeg-ts, 3gp, …)",
        (kind, message, inner) => new VideoReadException(kind, message, inner));

    private readonly FfmpegOptions _options;

    /// <summary>Creates a reader that runs FFmpeg with the given options (defaults when null).</summary>
    public VideoReader(FfmpegOptions? options = null) => _options = options ?? new FfmpegOptions();

    /// <summary>The options in use.</summary>
    public FfmpegOptions Options => _options;

    /// <summary>True when ffmpeg and ffprobe can be started (checks once per call; cheap: runs <c>-version</c>).</summary>
    public async Task<bool> IsAvailableAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            foreach (string program in new[] { _options.FfmpegPath, _options.FfprobePath })
            {
                using FfmpegProcess process = FfmpegProcess.Start(program, ["-version"], _options.MaxStderrBytes, cancellationToken);
                await process.Output.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
                if (await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false) != 0)
                {
                    return false;
                }
            }

            return true;
        }
        catch (FfmpegNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Sniffs and probes a file. Checks the content is a video container before FFmpeg sees it.</summary>
    /// <exception cref="VideoReadException">Not a video, empty, damaged, audio only, too large or too long.</exception>
    /// <exception cref="FfmpegNotFoundException">ffprobe is not installed.</exception>
    public async Task<VideoInfo> ProbeAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        string name = path;
        (string mediaType, string json) = await MediaProbe.RunAsync(path, _options, Probe, cancellationToken).ConfigureAwait(false);
        VideoInfo info = Parse(json, mediaType, name);
        if ((long)info.Width * info.Height > _options.MaxPixels)
        {
            throw new VideoReadException(VideoErrorKind.TooLarge, string.Create(CultureInfo.InvariantCulture,
                $"{name}: {info.Width}x{info.Height} video is above the limit of {_options.MaxPixels:N0} pixels per frame"));
        }

        MediaProbe.CheckDuration(name, info.DurationSec, _options, Probe);
        return info;
    }

    /// <summary>
    /// Streams frames sampled at <paramref name="framesPerSecond"/> (by presentation time), scaled so the shorter side is
    /// at most <paramref name="shortSide"/> pixels (never enlarged), upright. One ffmpeg process, killed when the
    /// enumeration ends early, is cancelled or stalls.
    /// </summary>
    public IAsyncEnumerable<VideoFrame> ReadFramesAsync(string path, VideoInfo info, double framesPerSecond, int shortSide,
        CancellationToken cancellationToken = default) =>
        ReadFramesAsync(path, info, framesPerSecond, shortSide, new PassThrough(), 0, cancellationToken);

    /// <summary>
    /// Like <see cref="ReadFramesAsync(string, VideoInfo, double, int, CancellationToken)"/>, but every frame is handed to
    /// <paramref name="processor"/> on the reading thread, as soon as it is read, and what the processor produces is
    /// streamed: per-frame work (shot detection) then costs no hand-over between threads, only its results do.
    /// <paramref name="decodeThreads"/> is the decoder's thread count when <see cref="FfmpegOptions.DecodeThreads"/> leaves
    /// it open (0: FFmpeg's choice).
    /// </summary>
    internal async IAsyncEnumerable<T> ReadFramesAsync<T>(string path, VideoInfo info, double framesPerSecond, int shortSide,
        IFrameProcessor<T> processor, int decodeThreads, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : class, IDisposable
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(processor);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(framesPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shortSide);
        (int width, int height) = ScaledSize(info.DisplayWidth, info.DisplayHeight, shortSide);
        string fps = framesPerSecond.ToString("0.######", CultureInfo.InvariantCulture);
        string filter = string.Create(CultureInfo.InvariantCulture, $"fps={fps},scale={width}:{height}:flags=area,setsar=1");
        string full = Path.GetFullPath(path);
        int threads = _options.DecodeThreads > 0 ? _options.DecodeThreads : Math.Max(0, decodeThreads);
        // Cancelled by the caller, by the stall clock (ffmpeg silent for StallTimeout while the reader waits on it) or when
        // the enumeration ends early: each kills the child, so the reading thread's blocking read returns.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        FfmpegProcess Start()
        {
            try
            {
                return FfmpegProcess.Start(_options.FfmpegPath,
                [
                    "-nostdin", "-hide_banner", "-loglevel", "error",
                    .. threads > 0 ? (string[])["-threads", threads.ToString(CultureInfo.InvariantCulture)] : [],
                    "-i", "file:" + full,
                    "-map", "0:" + info.StreamIndex.ToString(CultureInfo.InvariantCulture), "-an", "-sn", "-dn",
                    "-vf", filter, "-pix_fmt", "gbrp", "-f", "rawvideo", "pipe:1",
                ], _options.MaxStderrBytes, stop.Token);
            }
            catch
            {
                processor.Dispose();
                throw;
            }
        }

        using FfmpegProcess process = Start();

        // Frames are read with blocking reads on a thread of their own: on Linux, async pipe reads cost about 1.8 ms of
        // CPU per 1080p-sourced frame (an epoll wake-up and a thread-pool hop per 64 KB), blocking reads into a 1 MB pipe
        // 0.2 ms (bench videoindex --parts 1; docs/benchmarks.md). The processor runs on that thread too, so a frame
        // crosses no thread unless it is part of what the processor hands out.
        PipeBuffer.Enlarge(process.Output, 1 << 20);
        var results = Channel.CreateBounded<T>(new BoundedChannelOptions(ReadAhead) { SingleReader = true, SingleWriter = true });
        var pump = new FramePump<T>(process.Output, width, height, framesPerSecond, processor, results.Writer, stop, _options.StallTimeout);
        Task pumping = Task.Factory.StartNew(pump.Run, CancellationToken.None,
            TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);
        bool completed = false;
        try
        {
            // Waits on the caller's token only: a stall ends the queue, and is reported below.
            while (await results.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (results.Reader.TryRead(out T? item))
                {
                    yield return item;
                }
            }

            // The pump's own failure (a read error, the processor's), if any, surfaces here.
            await results.Reader.Completion.ConfigureAwait(false);
            completed = !stop.IsCancellationRequested;
        }
        finally
        {
            // Ending early (a break, an error, a cancel, a stall): the child is killed, so the pump's blocking read returns,
            // and the pump's wait for room in the queue is cancelled.
            if (!completed)
            {
                process.Kill();
                await stop.CancelAsync().ConfigureAwait(false);
            }

            await pumping.ConfigureAwait(false);
            while (results.Reader.TryRead(out T? left))
            {
                left.Dispose();
            }
        }

        if (pump.Stalled && !cancellationToken.IsCancellationRequested)
        {
            throw new VideoReadException(VideoErrorKind.TimedOut, $"{path}: ffmpeg produced no frame for {_options.StallTimeout.TotalSeconds:0} s");
        }

        cancellationToken.ThrowIfCancellationRequested();
        int exitCode = await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (pump.Frames == 0)
        {
            throw new VideoReadException(VideoErrorKind.Corrupt, $"{path}: no frame could be decoded ({MediaProbe.FailureReason(process, full, path, "ffmpeg", exitCode)})");
        }
    }

    /// <summary>Results (frames, or segments) queued ahead of the consumer (a frame is a few hundred KB at the default size).</summary>
    private const int ReadAhead = 4;

    /// <summary>Hands every frame on as it is.</summary>
    private sealed class PassThrough : IFrameProcessor<VideoFrame>
    {
        public void Frame(VideoFrame frame, List<VideoFrame> output) => output.Add(frame);

        public void End(List<VideoFrame> output)
        {
        }

        public void Dispose()
        {
        }
    }

    /// <summary>
    /// On a thread of its own: reads whole planar frames from ffmpeg's output with blocking reads into one reused buffer,
    /// interleaves each into a pooled image (<see cref="PlanarRgb"/>), gives it to the processor, and queues what it produces; completes the queue at the end of the stream, or with
    /// the error. Ends when the child is killed. The stall clock runs only while it waits for ffmpeg.
    /// </summary>
    private sealed class FramePump<T>(Stream output, int width, int height, double framesPerSecond, IFrameProcessor<T> processor,
        ChannelWriter<T> writer, CancellationTokenSource stop, TimeSpan stallTimeout)
        where T : class, IDisposable
    {
        private readonly CancellationTokenSource _stop = stop;
        private volatile bool _stalled;

        /// <summary>Frames read whole.</summary>
        public long Frames { get; private set; }

        /// <summary>True when the stall clock ended the read.</summary>
        public bool Stalled => _stalled;

        public void Run()
        {
            int frameBytes = width * height * 3;
            byte[] planes = ArrayPool<byte>.Shared.Rent(frameBytes);
            var produced = new List<T>();
            Exception? failure = null;
            CancellationToken token = _stop.Token;
            // The stall clock, armed around each read; when it runs out the child is killed (FfmpegProcess kills on stop).
            using var stall = new Timer(static state =>
            {
                var pump = (FramePump<T>)state!;
                pump._stalled = true;
                pump._stop.Cancel();
            }, this, Timeout.Infinite, Timeout.Infinite);
            try
            {
                bool ended = false;
                while (!token.IsCancellationRequested)
                {
                    stall.Change(stallTimeout, Timeout.InfiniteTimeSpan);
                    int read = output.ReadAtLeast(planes.AsSpan(0, frameBytes), frameBytes, throwOnEndOfStream: false);
                    stall.Change(Timeout.Infinite, Timeout.Infinite);
                    if (read < frameBytes)
                    {
                        ended = !token.IsCancellationRequested;
                        break;
                    }

                    var image = RgbImage.Allocate(width, height);
                    PlanarRgb.Interleave(planes, image.Pixels, width * height);
                    var frame = new VideoFrame(Frames / framesPerSecond, image);
                    Frames++;
                    processor.Frame(frame, produced);
                    Hand(produced, token);
                }

                if (ended)
                {
                    processor.End(produced);
                    Hand(produced, token);
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped by the consumer (cancel or early end) or the stall clock: the consumer reports why.
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                failure = token.IsCancellationRequested ? null : ex;
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            finally
            {
                foreach (T left in produced)
                {
                    left.Dispose();
                }

                processor.Dispose();
                ArrayPool<byte>.Shared.Return(planes);
            }

            writer.TryComplete(failure);
        }

        /// <summary>Queues the results in order, waiting for room (blocking here is this thread's job).</summary>
        private void Hand(List<T> produced, CancellationToken token)
        {
            int written = 0;
            try
            {
                for (; written < produced.Count; written++)
                {
                    while (!writer.TryWrite(produced[written]))
                    {
                        long waiting = System.Diagnostics.Stopwatch.GetTimestamp();
                        bool room = writer.WaitToWriteAsync(token).AsTask().GetAwaiter().GetResult();
                        processor.Waited(System.Diagnostics.Stopwatch.GetElapsedTime(waiting));
                        if (!room)
                        {
                            throw new OperationCanceledException(token);
                        }
                    }
                }
            }
            finally
            {
                // What was queued belongs to the consumer now; the rest is disposed by Run's finally.
                produced.RemoveRange(0, written);
            }
        }
    }

    /// <summary>
    /// The frame shown at <paramref name="atSec"/> as a JPEG whose longer side is at most <paramref name="maxSide"/>
    /// pixels, upright (a video segment's thumbnail). FFmpeg seeks to the time, so the cost does not grow with it.
    /// </summary>
    /// <exception cref="VideoReadException">Not a video, damaged, or no frame at that time.</exception>
    /// <exception cref="FfmpegNotFoundException">FFmpeg is not installed.</exception>
    public async Task<byte[]> ThumbnailAsync(string path, double atSec, int maxSide, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSide);
        VideoInfo info = await ProbeAsync(path, cancellationToken).ConfigureAwait(false);
        double at = double.IsFinite(atSec) ? Math.Clamp(atSec, 0, Math.Max(0, info.DurationSec - 0.05)) : 0;
        string full = Path.GetFullPath(path);
        string side = maxSide.ToString(CultureInfo.InvariantCulture);
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(_options.StallTimeout);
        using FfmpegProcess process = FfmpegProcess.Start(_options.FfmpegPath,
        [
            "-nostdin", "-hide_banner", "-loglevel", "error",
            "-ss", at.ToString("0.###", CultureInfo.InvariantCulture), "-i", "file:" + full,
            "-map", "0:" + info.StreamIndex.ToString(CultureInfo.InvariantCulture), "-an", "-sn", "-dn", "-frames:v", "1",
            "-vf", $"scale={side}:{side}:force_original_aspect_ratio=decrease:flags=area,setsar=1",
            "-f", "image2pipe", "-c:v", "mjpeg", "-q:v", "4", "pipe:1",
        ], _options.MaxStderrBytes, stall.Token);
        using var jpeg = new MemoryStream();
        byte[] buffer = new byte[81920];
        try
        {
            int read;
            while ((read = await process.Output.ReadAsync(buffer, stall.Token).ConfigureAwait(false)) > 0)
            {
                // One JPEG of at most maxSide² pixels; anything far larger is not what was asked for.
                if (jpeg.Length + read > 64L << 20)
                {
                    throw new VideoReadException(VideoErrorKind.Corrupt, $"{path}: ffmpeg produced an oversized thumbnail");
                }

                jpeg.Write(buffer, 0, read);
            }

            await process.WaitForExitAsync(stall.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new VideoReadException(VideoErrorKind.TimedOut, $"{path}: ffmpeg produced no thumbnail within {_options.StallTimeout.TotalSeconds:0} s");
        }

        if (jpeg.Length == 0)
        {
            string reason = process.StderrTail().Replace(full, path, StringComparison.Ordinal);
            throw new VideoReadException(VideoErrorKind.Corrupt, $"{path}: no frame at {at:0.###} s{(reason.Length > 0 ? " (" + reason + ")" : "")}");
        }

        return jpeg.ToArray();
    }

    /// <summary>The frame size <see cref="ReadFramesAsync"/> produces for a display size and short side.</summary>
    public static (int Width, int Height) ScaledSize(int displayWidth, int displayHeight, int shortSide)
    {
        int w = Math.Max(1, displayWidth);
        int h = Math.Max(1, displayHeight);
        int shorter = Math.Min(w, h);
        if (shorter <= shortSide)
        {
            // Never enlarge; only cap extreme aspect ratios so one frame stays small.
            return (Math.Min(w, shortSide * 8), Math.Min(h, shortSide * 8));
        }

        double scale = (double)shortSide / shorter;
        return (Math.Clamp((int)Math.Round(w * scale), 1, shortSide * 8), Math.Clamp((int)Math.Round(h * scale), 1, shortSide * 8));
    }

    internal static VideoInfo Parse(string json, string mediaType, string name)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            JsonElement root = doc.RootElement;
            JsonElement? video = null;
            string? audioCodec = null;
            if (root.TryGetProperty("streams", out JsonElement streams) && streams.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement stream in streams.EnumerateArray())
                {
                    string? type = Str(stream, "codec_type");
                    bool coverArt = stream.TryGetProperty("disposition", out JsonElement disposition)
                        && disposition.TryGetProperty("attached_pic", out JsonElement pic) && pic.ValueKind == JsonValueKind.Number && pic.GetInt32() == 1;
                    if (type == "video" && !coverArt && video is null)
                    {
                        video = stream;
                    }
                    else if (type == "audio" && audioCodec is null)
                    {
                        audioCodec = Str(stream, "codec_name");
                    }
                }
            }

            if (video is not { } v)
            {
                throw new VideoReadException(VideoErrorKind.NoVideoStream,
                    $"{name}: no video stream{(audioCodec is null ? "" : $" (audio only: {audioCodec})")}");
            }

            int width = Int(v, "width");
            int height = Int(v, "height");
            if (width <= 0 || height <= 0)
            {
                throw new VideoReadException(VideoErrorKind.Corrupt, $"{name}: the video stream has no frame size");
            }

            double duration = Num(root.TryGetProperty("format", out JsonElement format) ? format : default, "duration");
            if (duration <= 0)
            {
                duration = Num(v, "duration");
            }

            double fps = Rational(Str(v, "avg_frame_rate"));
            if (fps <= 0 || fps > 1000)
            {
                fps = Rational(Str(v, "r_frame_rate"));
            }

            double sar = Rational(Str(v, "sample_aspect_ratio"));
            return new VideoInfo(
                Container: format.ValueKind == JsonValueKind.Object ? Str(format, "format_name") ?? "" : "",
                MediaType: mediaType,
                DurationSec: Math.Max(0, duration),
                FrameRate: fps is > 0 and <= 1000 ? fps : 0,
                Width: width,
                Height: height,
                Rotation: RotationOf(v),
                VideoCodec: Str(v, "codec_name") ?? "unknown",
                AudioCodec: audioCodec,
                StreamIndex: Int(v, "index"))
            {
                SampleAspectRatio = sar is > 0.1 and < 10 ? sar : 1,
            };
        }
        catch (JsonException ex)
        {
            throw new VideoReadException(VideoErrorKind.Corrupt, $"{name}: ffprobe's answer could not be read ({ex.Message})", ex);
        }
    }

    /// <summary>Clockwise rotation from the display matrix side data (FFmpeg 5+: counter-clockwise degrees) or the legacy rotate tag.</summary>
    private static int RotationOf(JsonElement stream)
    {
        double? counterClockwise = null;
        if (stream.TryGetProperty("side_data_list", out JsonElement sides) && sides.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement side in sides.EnumerateArray())
            {
                if (side.TryGetProperty("rotation", out JsonElement r) && r.ValueKind == JsonValueKind.Number)
                {
                    counterClockwise = r.GetDouble();
                    break;
                }
            }
        }

        double clockwise;
        if (counterClockwise is double ccw)
        {
            clockwise = -ccw;
        }
        else if (stream.TryGetProperty("tags", out JsonElement tags) && Str(tags, "rotate") is { } tag
            && double.TryParse(tag, NumberStyles.Float, CultureInfo.InvariantCulture, out double rotate))
        {
            clockwise = rotate;
        }
        else
        {
            return 0;
        }

        int quarter = (int)Math.Round(clockwise / 90.0);
        return ((quarter % 4) + 4) % 4 * 90;
    }

    private static int Int(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out int i) ? i : 0;

    private static double Rational(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        int slash = text.IndexOfAny(['/', ':']);
        if (slash < 0)
        {
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double plain) ? plain : 0;
        }

        return double.TryParse(text.AsSpan(0, slash), NumberStyles.Float, CultureInfo.InvariantCulture, out double n)
            && double.TryParse(text.AsSpan(slash + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d != 0 ? n / d : 0;
    }
}
