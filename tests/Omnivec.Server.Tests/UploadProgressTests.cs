using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Omnivec.Preprocessing;
using Omnivec.Tests;

namespace Omnivec.Server.Tests;

/// <summary>
/// Lets the first <paramref name="free"/> batches of video frames through, then holds every later one until the caller's
/// token is cancelled, so a test can leave in the middle of a video with FFmpeg still running.
/// </summary>
internal sealed class HoldingFrameModel(IMultimodalEmbeddingGenerator inner, int free) : IMultimodalEmbeddingGenerator, IRgbImageEmbedder
{
    private int _calls;

    public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public EmbeddingSpace Space => inner.Space;

    public float[][] EmbedImages(IReadOnlyList<RgbImage> images, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Increment(ref _calls) > free)
        {
            Held.TrySetResult();
            cancellationToken.WaitHandle.WaitOne();
            Cancelled.TrySetResult();
            cancellationToken.ThrowIfCancellationRequested();
        }

        return ((IRgbImageEmbedder)inner.GetService(typeof(IRgbImageEmbedder))!).EmbedImages(images, cancellationToken);
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        ((IEmbeddingGenerator<string, Embedding<float>>)inner).GenerateAsync(values, options, cancellationToken);

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        ((IEmbeddingGenerator<DataContent, Embedding<float>>)inner).GenerateAsync(values, options, cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceType == typeof(IRgbImageEmbedder) ? this : inner.GetService(serviceType, serviceKey);

    public void Dispose()
    {
    }
}

/// <summary>Uploads answered as server-sent events: progress while the server segments a video, then the indexed items.</summary>
public sealed class UploadProgressTests : IAsyncLifetime
{
    private static readonly string[] Stages = ["checking", "embedding", "storing", "probing", "segmenting", "saving"];

    private readonly string _folder = Directory.CreateTempSubdirectory("omnivec-srv-progress-").FullName;

    private string Video => Path.Combine(_folder, "walk.mp4");

    /// <summary>The start of each shot: ten shots of 2.4 s, 24 s in all.</summary>
    private double[] _cuts = [];

    public Task InitializeAsync()
    {
        string[] photos = ["two_beagles.jpg", "bananas.jpg", "tomatoes.jpg", "hotdog.jpg", "cat_chelsea.png"];
        _cuts = TestVideos.MakeShots(Video, [.. Enumerable.Range(0, 10).Select(i => (photos[i % photos.Length], 2.4))]);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    private HttpRequestMessage UploadRequest(string collection, string name = "walk.mp4", string? video = null)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(File.ReadAllBytes(video ?? Video)), "files", name } };
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/collections/{collection}/items") { Content = form };
        request.Headers.Accept.ParseAdd("text/event-stream");
        return request;
    }

    [Fact]
    public async Task Progress_events_arrive_in_order_never_go_back_and_end_with_the_indexed_video()
    {
        // Every change is sent (no minimum interval), so the half-second decode steps of a 24 s video are all seen.
        await using RunningServer server = await RunningServer.StartAsync(o => o.UploadProgressInterval = TimeSpan.Zero);
        using HttpRequestMessage request = UploadRequest("walks");
        using HttpResponseMessage response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        var events = new List<SseItem<string>>();
        await foreach (SseItem<string> item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            events.Add(item);
        }

        // Progress events, then exactly one result, last.
        Assert.Equal("result", events[^1].EventType);
        Assert.All(events[..^1], e => Assert.Equal("progress", e.EventType));
        JsonElement[] progress = [.. events[..^1].Select(e => JsonDocument.Parse(e.Data).RootElement.Clone())];
        Assert.All(progress, p =>
        {
            Assert.Equal("walk.mp4", p.GetProperty("name").GetString());
            Assert.Equal(1, p.GetProperty("file").GetInt32());
            Assert.Equal(1, p.GetProperty("files").GetInt32());
        });

        // Stages only move forward; decoded seconds, segments, the fraction and elapsed time never go back.
        int[] stages = [.. progress.Select(p => Array.IndexOf(Stages, p.GetProperty("stage").GetString()))];
        Assert.DoesNotContain(-1, stages);
        Assert.Equal(stages.Order(), stages);
        JsonElement[] media = [.. progress.Where(p => p.TryGetProperty("decoded_sec", out _))];
        foreach (string field in (string[])["decoded_sec", "embedded_sec", "fraction", "elapsed_sec"])
        {
            double[] values = [.. media.Select(p => p.GetProperty(field).GetDouble())];
            Assert.True(values.Order().SequenceEqual(values), $"{field} went back: {string.Join(", ", values)}");
        }

        int[] segmentCounts = [.. media.Select(p => p.GetProperty("segments").GetInt32())];
        Assert.Equal(segmentCounts.Order(), segmentCounts);

        // Several reports in the middle of the video, each with its duration, speed and time left.
        JsonElement[] midway = [.. media.Where(p => p.GetProperty("stage").GetString() == "segmenting" && p.GetProperty("fraction").GetDouble() is > 0 and < 1)];
        Assert.True(midway.Length >= 3, "progress: " + string.Join(" | ", events.Select(e => e.Data)));
        Assert.All(midway, p =>
        {
            Assert.InRange(p.GetProperty("duration_sec").GetDouble(), 23.5, 24.5);
            Assert.InRange(p.GetProperty("decoded_sec").GetDouble(), 0.01, 24.5);
            Assert.InRange(p.GetProperty("fraction").GetDouble() - (p.GetProperty("decoded_sec").GetDouble() / p.GetProperty("duration_sec").GetDouble()), -1e-3, 1e-3);
        });
        Assert.Contains(midway, p => p.TryGetProperty("speed", out JsonElement speed) && speed.GetDouble() > 0 && p.GetProperty("eta_sec").GetDouble() >= 0);

        // The last progress: the whole video decoded and every segment embedded; then the result lists those segments.
        JsonElement last = progress[^1];
        Assert.Equal("saving", last.GetProperty("stage").GetString());
        Assert.Equal(1.0, last.GetProperty("fraction").GetDouble(), 3);
        JsonElement result = JsonDocument.Parse(events[^1].Data).RootElement;
        Assert.Empty(result.GetProperty("errors").EnumerateArray());
        JsonElement[] items = [.. result.GetProperty("items").EnumerateArray()];
        Assert.Equal(last.GetProperty("segments").GetInt32(), items.Length);
        Assert.InRange(items.Length, _cuts.Length + 1, 2 * (_cuts.Length + 1));
        Assert.Equal(0, items[0].GetProperty("start_offset_sec").GetDouble(), 3);
        Assert.InRange(items[^1].GetProperty("end_offset_sec").GetDouble(), 23.75, 24.25);
        Assert.All(items, i => Assert.Equal("walk.mp4", i.GetProperty("name").GetString()));

        // Committed: the bananas photo finds the uploaded video's first bananas shot.
        string json = JsonSerializer.Serialize(new { collection = "walks", image = Convert.ToBase64String(TestModel.Photo("bananas.jpg")), top_k = 3 });
        HttpResponseMessage found = await server.Http.PostAsync("/v1/search", new StringContent(json, Encoding.UTF8, "application/json"));
        JsonElement best = JsonDocument.Parse(await found.Content.ReadAsStringAsync()).RootElement.GetProperty("results")[0];
        Assert.Contains(_cuts.Where((_, i) => i % 5 == 0), cut => Math.Abs(best.GetProperty("start_offset_sec").GetDouble() - cut) <= 0.25);
    }

    [Fact]
    public async Task A_plain_upload_still_answers_201_and_a_failed_one_ends_the_stream_with_an_error_event()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        using (var plain = new MultipartFormDataContent { { new ByteArrayContent(await File.ReadAllBytesAsync(Video)), "files", "walk.mp4" } })
        {
            HttpResponseMessage created = await server.Http.PostAsync("/v1/collections/plain/items", plain);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal("application/json", created.Content.Headers.ContentType?.MediaType);
        }

        // Text named like a video: the stream ends with an error event carrying the problem a plain request gets as its 400.
        var form = new MultipartFormDataContent { { new ByteArrayContent(Encoding.UTF8.GetBytes("not a video\n")), "files", "notes.mkv" } };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/collections/plain/items") { Content = form };
        request.Headers.Accept.ParseAdd("text/event-stream");
        using HttpResponseMessage response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = new List<SseItem<string>>();
        await foreach (SseItem<string> item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            events.Add(item);
        }

        Assert.Equal("error", events[^1].EventType);
        JsonElement problem = JsonDocument.Parse(events[^1].Data).RootElement;
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Equal("notes.mkv", problem.GetProperty("errors")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Leaving_the_event_stream_mid_video_stops_ffmpeg_and_commits_nothing()
    {
        var model = new HoldingFrameModel(TestModel.Clip, free: 1);
        await using RunningServer server = await RunningServer.StartAsync(o => o.UploadProgressInterval = TimeSpan.Zero, model);
        string collection = "left-" + Guid.NewGuid().ToString("N")[..8];

        // The pipeline reads ahead (the reader's queue of segments, the embedder's channel and the segments in hand:
        // nine or ten 2.4 s shots), so on a fast machine FFmpeg can finish the class's 24 s video before it is looked
        // for. Forty shots (96 s) keep FFmpeg decoding while the model holds the second segment.
        string[] photos = ["two_beagles.jpg", "bananas.jpg", "tomatoes.jpg", "hotdog.jpg", "cat_chelsea.png"];
        string longVideo = Path.Combine(_folder, "long-walk.mp4");
        TestVideos.MakeShots(longVideo, [.. Enumerable.Range(0, 40).Select(i => (photos[i % photos.Length], 2.4))]);
        using var leave = new CancellationTokenSource();
        using HttpRequestMessage request = UploadRequest(collection, video: longVideo);
        HttpResponseMessage response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave.Token);
        Stream stream = await response.Content.ReadAsStreamAsync();

        // Read until one segment is embedded; the next is held inside the model while FFmpeg decodes ahead.
        await foreach (SseItem<string> item in SseParser.Create(stream).EnumerateAsync(leave.Token))
        {
            JsonElement p = JsonDocument.Parse(item.Data).RootElement;
            if (item.EventType == "progress" && p.TryGetProperty("segments", out JsonElement segments) && segments.GetInt32() >= 1)
            {
                break;
            }

            Assert.NotEqual("result", item.EventType);
        }

        await model.Held.Task.WaitAsync(TimeSpan.FromSeconds(60));
        string staging = Path.Combine(server.Store, collection, "incoming");
        Assert.NotEmpty(FfmpegReading(staging));

        // The client leaves: the model's wait is cancelled, FFmpeg is gone, and nothing is committed or left in staging.
        await leave.CancelAsync();
        response.Dispose();
        await model.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(60));
        for (int i = 0; i < 600 && FfmpegReading(staging).Length > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(FfmpegReading(staging));
        for (int i = 0; i < 600 && Directory.Exists(staging) && Directory.EnumerateFiles(staging).Any(); i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(Directory.Exists(staging) ? Directory.GetFiles(staging) : []);
        Assert.False(Directory.Exists(Path.Combine(server.Store, collection, "uploads")));
    }

    /// <summary>FFmpeg processes (not zombies) whose command line names a file in <paramref name="folder"/> (as <c>file:/…</c>).</summary>
    private static int[] FfmpegReading(string folder)
    {
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            try
            {
                string[] args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (args.Length > 0 && Path.GetFileName(args[0]) == "ffmpeg" && args.Any(a => a.Contains(folder, StringComparison.Ordinal))
                    && !File.ReadAllText(Path.Combine(dir, "status")).Contains("State:\tZ", StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return [.. found];
    }
}
