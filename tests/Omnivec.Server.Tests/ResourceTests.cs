using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using SkiaSharp;

namespace Omnivec.Server.Tests;

/// <summary>Waits inside the text model until the caller's token is cancelled, to prove a disconnect reaches the model.</summary>
internal sealed class BlockingTextModel(IMultimodalEmbeddingGenerator inner) : IMultimodalEmbeddingGenerator
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public EmbeddingSpace Space => inner.Space;

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Started.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Cancelled.TrySetResult();
            throw;
        }

        throw new InvalidOperationException("unreachable");
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        ((IEmbeddingGenerator<DataContent, Embedding<float>>)inner).GenerateAsync(values, options, cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);

    public void Dispose()
    {
    }
}

public sealed class ResourceTests
{
    private static StringContent ClassifyBody(IEnumerable<string> labels, string templates = "simple") => new(JsonSerializer.Serialize(new
    {
        image = Convert.ToBase64String(TestModel.Photo("cat_chelsea.png")),
        labels = labels.ToArray(),
        templates,
    }), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Classify_stops_its_text_runs_when_the_client_disconnects()
    {
        var model = new BlockingTextModel(TestModel.Clip);
        await using RunningServer server = await RunningServer.StartAsync(model: model);
        using var leave = new CancellationTokenSource();
        Task<HttpResponseMessage> call = server.Http.PostAsync("/v1/classify", ClassifyBody(Enumerable.Range(0, 40).Select(i => $"label {i}")), leave.Token);
        await model.Started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        leave.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        // The model run the request started sees the cancellation (it would wait forever otherwise).
        await model.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Label_embeddings_are_cached_and_prompts_per_request_are_limited()
    {
        await using RunningServer server = await RunningServer.StartAsync(o => o.MaxClassifyPrompts = 100);
        HttpResponseMessage first = await server.Http.PostAsync("/v1/classify", ClassifyBody(["cat", "dog", "banana"]));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        int textsAfterFirst = server.Embedder.TextRuns.Sum();
        Assert.True(textsAfterFirst >= 3);

        // Same labels in another order, and a set sharing two of them: only the new label is embedded.
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsync("/v1/classify", ClassifyBody(["banana", "cat", "dog"]))).StatusCode);
        Assert.Equal(textsAfterFirst, server.Embedder.TextRuns.Sum());
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsync("/v1/classify", ClassifyBody(["cat", "dog", "mug"]))).StatusCode);
        Assert.Equal(textsAfterFirst + 1, server.Embedder.TextRuns.Sum());

        // 2 labels × the 80 ImageNet templates = 160 prompts, over the limit of 100: refused before any text run.
        HttpResponseMessage tooMany = await server.Http.PostAsync("/v1/classify", ClassifyBody(["x1", "x2"], "imagenet"));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains("MaxClassifyPrompts", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(textsAfterFirst + 1, server.Embedder.TextRuns.Sum());
    }

    private static async Task<long> UploadAsync(RunningServer server, string collection, byte[] image, string name)
    {
        using var form = new MultipartFormDataContent { { new ByteArrayContent(image), "files", name } };
        HttpResponseMessage response = await server.Http.PostAsync($"/v1/collections/{collection}/items", form);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("items")[0].GetProperty("id").GetInt64();
    }

    [Fact]
    public async Task Thumbnails_come_in_a_few_sizes_and_a_busy_server_answers_503_with_Retry_After()
    {
        await using RunningServer server = await RunningServer.StartAsync(o =>
        {
            o.ThumbnailConcurrency = 1;
            o.ThumbnailQueueLength = 0;
        });
        long id = await UploadAsync(server, "thumbs", TestModel.Photo("bananas.jpg"), "b.jpg");
        string url = $"/v1/collections/thumbs/items/{id}/thumbnail";
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.GetAsync(url + "?size=100")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.GetAsync(url + "?size=2048")).StatusCode);

        // Every render slot taken and no queue: 503 with Retry-After, nothing rendered.
        await server.Thumbnails.Slots.WaitAsync();
        HttpResponseMessage busy;
        try
        {
            busy = await server.Http.GetAsync(url + "?size=128");
        }
        finally
        {
            server.Thumbnails.Slots.Release();
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
        Assert.NotNull(busy.Headers.RetryAfter);
        foreach (int size in new[] { 64, 128, 256, 512, 1024 })
        {
            HttpResponseMessage ok = await server.Http.GetAsync($"{url}?size={size}");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            using SKBitmap bitmap = SKBitmap.Decode(await ok.Content.ReadAsByteArrayAsync());
            using SKCodec original = SKCodec.Create(new MemoryStream(TestModel.Photo("bananas.jpg")));
            Assert.Equal(Math.Min(size, Math.Max(original.Info.Width, original.Info.Height)), Math.Max(bitmap.Width, bitmap.Height));
        }
    }

    [Fact]
    public async Task Thumbnails_wait_in_a_queue_when_the_slots_are_busy()
    {
        await using RunningServer server = await RunningServer.StartAsync(o =>
        {
            o.ThumbnailConcurrency = 1;
            o.ThumbnailQueueLength = 1;
        });
        long id = await UploadAsync(server, "queue", TestModel.Photo("bananas.jpg"), "b.jpg");
        await server.Thumbnails.Slots.WaitAsync();
        Task<HttpResponseMessage> waiting = server.Http.GetAsync($"/v1/collections/queue/items/{id}/thumbnail?size=64");
        while (server.Thumbnails.Waiting == 0 && !waiting.IsCompleted)
        {
            await Task.Delay(10);
        }

        HttpResponseMessage second = await server.Http.GetAsync($"/v1/collections/queue/items/{id}/thumbnail?size=128");
        server.Thumbnails.Slots.Release();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await waiting).StatusCode);
    }

    [Fact]
    public async Task Slow_clients_are_cut_off_by_header_and_body_timeouts()
    {
        await using RunningServer server = await RunningServer.StartAsync(o =>
        {
            o.RequestHeadersTimeout = TimeSpan.FromSeconds(1);
            o.MinRequestBodyBytesPerSecond = 10_000;
            o.MinDataRateGracePeriod = TimeSpan.FromSeconds(2);
        });

        // Headers that never finish (slowloris): the server closes the connection.
        using (var slowHeaders = new TcpClient())
        {
            await slowHeaders.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
            NetworkStream stream = slowHeaders.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /health HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nX-Slow: a"));
            string answer = await new StreamReader(stream).ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
        }

        // A body that trickles in below the minimum rate: cut off after the grace period.
        using (var slowBody = new TcpClient())
        {
            await slowBody.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
            NetworkStream stream = slowBody.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST /v1/embeddings HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"input\":\""));
            Task<string> answer = new StreamReader(stream).ReadToEndAsync();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (!answer.IsCompleted && !stop.IsCancellationRequested)
            {
                try
                {
                    await stream.WriteAsync("a"u8.ToArray(), stop.Token);
                }
                catch (IOException)
                {
                    break;
                }

                await Task.Delay(250);
            }

            string text = await answer.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(text.Length == 0 || text.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), text);
        }

        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);
    }
}

/// <summary>Runs alone: it measures the whole process's peak memory.</summary>
[CollectionDefinition(nameof(MemoryMeasurements), DisableParallelization = true)]
public sealed class MemoryMeasurements;

[Collection(nameof(MemoryMeasurements))]
public sealed class ThumbnailMemoryTests
{
    private static long StatusKb(string field)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static byte[] LargePng(int seed)
    {
        // 4000 x 3000 = 12 megapixels, a smooth gradient so the PNG stays small to upload.
        using var bitmap = new SKBitmap(4000, 3000);
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint())
        {
            paint.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(4000, 3000),
                [new SKColor((byte)(seed * 40), 80, 160), new SKColor(250, (byte)(seed * 50), 20)], SKShaderTileMode.Clamp);
            canvas.DrawRect(0, 0, 4000, 3000, paint);
        }

        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 1);
        return data.ToArray();
    }

    [Fact]
    public async Task A_burst_of_thumbnails_of_huge_images_keeps_peak_memory_bounded_and_gives_it_back()
    {
        Assert.True(OperatingSystem.IsLinux(), "reads /proc/self/status");
        await using RunningServer server = await RunningServer.StartAsync(o =>
        {
            o.ThumbnailConcurrency = 2;
            o.MaxRequestBytes = 64L << 20;
        });
        var ids = new List<long>();
        for (int i = 0; i < 3; i++)
        {
            using var form = new MultipartFormDataContent { { new ByteArrayContent(LargePng(i)), "files", $"big{i}.png" } };
            HttpResponseMessage response = await server.Http.PostAsync("/v1/collections/huge/items", form);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            ids.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("items")[0].GetProperty("id").GetInt64());
        }

        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        File.WriteAllText("/proc/self/clear_refs", "5"); // peak RSS := current RSS
        long baseline = StatusKb("VmRSS");

        // 3 images × 5 sizes = 15 different renders at once.
        Task<HttpResponseMessage>[] burst = ids.SelectMany(id => new[] { 64, 128, 256, 512, 1024 }
            .Select(size => server.Http.GetAsync($"/v1/collections/huge/items/{id}/thumbnail?size={size}"))).ToArray();
        HttpResponseMessage[] answers = await Task.WhenAll(burst);
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        long peak = StatusKb("VmHWM");
        Assert.True(server.Thumbnails.PeakConcurrency <= 2, $"{server.Thumbnails.PeakConcurrency} renders ran at once");

        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        long after = StatusKb("VmRSS");
        // A full-size decode of one of these is 48 MB of RGBA (plus copies); fifteen at once would be well over 1 GB.
        Assert.True(peak - baseline < 200_000, $"peak RSS rose by {(peak - baseline) / 1024} MB during the burst");
        Assert.True(after - baseline < 100_000, $"RSS stayed {(after - baseline) / 1024} MB above the baseline after the burst");
    }
}
