using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Omnivec.Media;

namespace Omnivec.Server;

/// <summary>
/// One <c>progress</c> event of an upload answered as <c>text/event-stream</c>: what the server is doing with which file
/// and, for a video or recording, how far it has got.
/// </summary>
/// <param name="Name">The uploaded file's name.</param>
/// <param name="File">Its position in the upload, from 1.</param>
/// <param name="Files">Files in the upload.</param>
/// <param name="Stage">
/// <c>checking</c> (each file's first bytes and header), <c>embedding</c> (the images), <c>storing</c> (a video or recording is written to the server's staging folder),
/// <c>probing</c>, <c>segmenting</c> (decoding, finding the cuts and embedding the moments), <c>saving</c> (committing
/// everything to the collection).
/// </param>
/// <param name="ElapsedSec">Seconds since the server had the whole upload.</param>
internal sealed record UploadProgressEvent(string Name, int File, int Files, string Stage, double ElapsedSec)
{
    /// <summary>The media's duration (from the probe), when known.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? DurationSec { get; init; }

    /// <summary>Seconds of the media decoded (and, for a video, analysed for cuts).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? DecodedSec { get; init; }

    /// <summary>Segments (video moments or audio windows) embedded so far.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? Segments { get; init; }

    /// <summary>End of the last segment embedded, in seconds.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? EmbeddedSec { get; init; }

    /// <summary><see cref="DecodedSec"/> over <see cref="DurationSec"/>, 0 to 1.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? Fraction { get; init; }

    /// <summary>Seconds of media decoded per second of work since decoding began (3 = three times real time).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? Speed { get; init; }

    /// <summary>Seconds left at that speed.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? EtaSec { get; init; }
}

/// <summary>
/// The progress of one upload request, updated by the work (from any thread) and read as snapshots by the event
/// stream. Per file, the stage only moves forward and the decoded seconds never go back.
/// </summary>
internal sealed class UploadProgress : IProgress<VideoProgress>
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly int _files;
    private long _version;
    private string _name = "";
    private int _file;
    private string _stage = "checking";
    private long _segmentingStarted;
    private VideoProgress? _media;

    public UploadProgress(int files) => _files = files;

    /// <summary>Grows with every change; the stream sends an event when it moved.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>The work has moved on to <paramref name="stage"/> for file <paramref name="file"/> (from 1).</summary>
    public void Stage(string name, int file, string stage)
    {
        lock (_gate)
        {
            if (file != _file)
            {
                _media = null;
            }

            _name = name;
            _file = file;
            _stage = stage;
            if (stage == "segmenting")
            {
                _segmentingStarted = Stopwatch.GetTimestamp();
            }

            Interlocked.Increment(ref _version);
            Signal();
        }
    }

    /// <summary>The work has moved on to <paramref name="stage"/> for the whole upload (the file stays the last one worked on).</summary>
    public void Stage(string stage)
    {
        lock (_gate)
        {
            _stage = stage;
            Interlocked.Increment(ref _version);
            Signal();
        }
    }

    /// <summary>How far the current video or recording has got.</summary>
    public void Report(VideoProgress value)
    {
        lock (_gate)
        {
            _media = value;
            Interlocked.Increment(ref _version);
            Signal();
        }
    }

    /// <summary>Completes when something changed since the last <see cref="Snapshot"/>, or (faulted) after <paramref name="timeout"/>.</summary>
    public Task ChangedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _changed.Task.WaitAsync(timeout, cancellationToken);
        }
    }

    private void Signal() => _changed.TrySetResult();

    /// <summary>The progress now; changes from here on complete the next <see cref="ChangedAsync"/>.</summary>
    public UploadProgressEvent Snapshot()
    {
        lock (_gate)
        {
            if (_changed.Task.IsCompleted)
            {
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            var e = new UploadProgressEvent(_name, _file, _files, _stage, Math.Round(Stopwatch.GetElapsedTime(_started).TotalSeconds, 2));
            if (_media is not { } media)
            {
                return e;
            }

            double working = _segmentingStarted == 0 ? 0 : Stopwatch.GetElapsedTime(_segmentingStarted).TotalSeconds;
            double? speed = working > 0.2 && media.DecodedSec > 0 ? media.DecodedSec / working : null;
            double? fraction = media.DecodedFraction;
            return e with
            {
                DurationSec = media.DurationSec > 0 ? Math.Round(media.DurationSec, 3) : null,
                DecodedSec = Math.Round(media.DecodedSec, 3),
                Segments = media.SegmentsEmbedded,
                EmbeddedSec = Math.Round(media.EmbeddedSec, 3),
                Fraction = fraction is double f ? Math.Round(f, 4) : null,
                Speed = speed is double s ? Math.Round(s, 2) : null,
                EtaSec = speed is double v && media.DurationSec > 0 ? Math.Round(Math.Max(0, media.DurationSec - media.DecodedSec) / v, 1) : null,
            };
        }
    }
}

/// <summary>
/// Answers an upload as server-sent events (<c>text/event-stream</c>): <c>progress</c> events while the server works
/// (at most one per <see cref="OmnivecServerOptions.UploadProgressInterval"/>, and one a second while nothing moves), then one <c>result</c> event with the same body
/// a plain request gets with its 201, or one <c>error</c> event with the problem document (its <c>status</c> is the
/// status a plain request would have had).
/// </summary>
internal static class UploadEventStream
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(1);

    /// <summary>Whether the client asked for the event stream (<c>Accept: text/event-stream</c>).</summary>
    public static bool IsWanted(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Starts the stream, runs <paramref name="work"/> while sending its progress, then sends its outcome. A client that
    /// leaves cancels the work (through the request's token, as for a plain request); the stream then just ends.
    /// </summary>
    public static async Task RunAsync(HttpContext context, UploadProgress progress, Func<Task<(int Status, object Body)>> work,
        TimeSpan interval, long maxRequestBytes, ILogger logger)
    {
        CancellationToken aborted = context.RequestAborted;
        HttpResponse response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no"; // a proxy in front must not hold the events back
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(aborted).ConfigureAwait(false);
        JsonSerializerOptions json = JsonOptions(context);

        Task<(int Status, object Body)> running = work();
        try
        {
            // An event when something changed (at most one per interval), and one a second while nothing does.
            while (!running.IsCompleted)
            {
                await Task.WhenAny(running, progress.ChangedAsync(Heartbeat, aborted)).ConfigureAwait(false);
                if (running.IsCompleted || aborted.IsCancellationRequested)
                {
                    break;
                }

                await WriteAsync(response, "progress", JsonSerializer.Serialize(progress.Snapshot(), json), aborted).ConfigureAwait(false);
                if (interval > TimeSpan.Zero)
                {
                    await Task.WhenAny(running, Task.Delay(interval, aborted)).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && aborted.IsCancellationRequested)
        {
            // The client left: the work sees the same token and stops (FFmpeg is killed); wait for it below.
        }

        (int status, object body) outcome;
        try
        {
            outcome = await running.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // every failure becomes an error event: the status line is already sent
        catch (Exception error)
#pragma warning restore CA1031
        {
            (int status, string detail) = ProblemResponses.Classify(error, maxRequestBytes);
            if (status >= 500)
            {
                logger.LogError(error, "Upload to {Path} failed", context.Request.Path);
            }

            outcome = (status, ProblemResponses.Create(status, detail));
        }

        if (aborted.IsCancellationRequested)
        {
            return;
        }

        try
        {
            // The last progress (the work's final state), then the outcome.
            await WriteAsync(response, "progress", JsonSerializer.Serialize(progress.Snapshot(), json), aborted).ConfigureAwait(false);
            await WriteAsync(response, outcome.status is >= 200 and < 300 ? "result" : "error", JsonSerializer.Serialize(outcome.body, outcome.body.GetType(), json), aborted)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && aborted.IsCancellationRequested)
        {
            // Left at the last moment; the upload itself is committed (a plain request would be the same).
        }
    }

    private static JsonSerializerOptions JsonOptions(HttpContext context) =>
        (context.RequestServices.GetService(typeof(Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>))
            as Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>)?.Value.SerializerOptions
        ?? new JsonSerializerOptions(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>One event: its name and its data on one line (JSON has no raw newlines), then a blank line; flushed.</summary>
    private static async Task WriteAsync(HttpResponse response, string name, string data, CancellationToken cancellationToken)
    {
        byte[] bytes = Encoding.UTF8.GetBytes($"event: {name}\ndata: {data}\n\n");
        await response.Body.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
