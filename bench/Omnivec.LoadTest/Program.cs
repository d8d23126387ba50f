// Load test for `omnivec serve`: starts the real server in-process on loopback, runs N concurrent HTTP clients posting
// single-input /v1/embeddings requests (one short text, or with --input image one JPEG as a data: URL) for D seconds,
// once with dynamic batching and once with MaxBatchSize = 1, and reports requests, errors, throughput and latency
// percentiles per mode (stdout and, with --out, a JSON file).
//
//   dotnet run -c Release --project bench/Omnivec.LoadTest -- [--model <folder>] [--clients 64] [--seconds 60]
//       [--batch-size 32] [--window-ms 4] [--input text|image] [--image <file>] [--out result.json]

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Omnivec.Onnx;
using Omnivec.Server;

string repo = FindRepoRoot();
string model = Path.Combine(repo, "tests", "fixtures", "models", "tiny-clip-hf");
int clients = 64;
int seconds = 60;
int batchSize = 32;
double windowMs = 4;
string? outFile = null;
string input = "text";
string image = Path.Combine(repo, "tests", "fixtures", "corpus", "images", "photos", "yoga_pose_beach.jpg");
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--model": model = Next(); break;
        case "--clients": clients = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--seconds": seconds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--batch-size": batchSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--window-ms": windowMs = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--out": outFile = Next(); break;
        case "--input": input = Next(); break;
        case "--image": image = Next(); break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            Console.Error.WriteLine("usage: Omnivec.LoadTest [--model <folder>] [--clients 64] [--seconds 60] [--batch-size 32] [--window-ms 4] [--input text|image] [--image file] [--out file.json]");
            return 2;
    }
}

if (clients is < 1 or > 1024 || seconds is < 1 or > 3600 || batchSize < 2 || input is not ("text" or "image"))
{
    Console.Error.WriteLine("--clients must be 1-1024, --seconds 1-3600, --batch-size at least 2 and --input text or image");
    return 2;
}

// Image mode: every request carries the same JPEG (the server decodes it each time; nothing is cached by content).
byte[] imageBytes = input == "image" ? File.ReadAllBytes(image) : [];
string imageBody = input == "image"
    ? JsonSerializer.Serialize(new { input = new[] { new { image = "data:image/jpeg;base64," + Convert.ToBase64String(imageBytes) } } })
    : "";
string endpoint = input == "image"
    ? $"POST /v1/embeddings (one image per request: {Path.GetFileName(image)}, {imageBytes.Length / 1024} KB JPEG as a data: URL)"
    : "POST /v1/embeddings (one short text per request)";

DateTimeOffset startedUtc = DateTimeOffset.UtcNow;
using ClipEmbeddingGenerator clip = ClipEmbeddingGenerator.Load(model);
Console.Error.WriteLine($"model {clip.Space} from {model}; {clients} clients x {seconds} s per mode; {Environment.ProcessorCount} cores");

var modes = new List<ModeResult>
{
    await RunModeAsync("batched", batchSize, TimeSpan.FromMilliseconds(windowMs)),
    await RunModeAsync("unbatched", 1, TimeSpan.Zero),
};

var report = new
{
    tool = "Omnivec.LoadTest",
    model = clip.Space.ToString(),
    model_dir = Path.GetFullPath(model),
    clients,
    seconds,
    cores = Environment.ProcessorCount,
    endpoint,
    input,
    started_utc = startedUtc,
    modes,
};
string json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
Console.WriteLine(json);
if (outFile is not null)
{
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outFile))!);
    await File.WriteAllTextAsync(outFile, json);
}

return modes.Any(m => m.Requests == 0) ? 1 : 0;

async Task<ModeResult> RunModeAsync(string name, int maxBatch, TimeSpan window)
{
    string store = Path.Combine(Path.GetTempPath(), "omnivec-load-" + Guid.NewGuid().ToString("N"));
    var options = new OmnivecServerOptions { StoreRoot = store, MaxBatchSize = maxBatch, BatchWindow = window, MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
    options.Urls.Clear();
    options.Urls.Add("http://127.0.0.1:0"); // loopback only
    var counting = new CountingEmbedder(clip);
    WebApplication app = OmnivecServer.Build(counting, options);
    await app.StartAsync();
    try
    {
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients, UseProxy = false };
        using var http = new HttpClient(handler) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };

        // Warm-up: first runs allocate buffers and JIT the paths.
        for (int w = 0; w < 8; w++)
        {
            (await PostAsync(http, w)).Dispose();
        }

        counting.Reset();
        var latencies = new List<double>[clients];
        int errors = 0;
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        Task[] workers = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var mine = latencies[c] = new List<double>(1024);
            int n = 0;
            while (clock.Elapsed < deadline)
            {
                long start = Stopwatch.GetTimestamp();
                try
                {
                    using HttpResponseMessage response = await PostAsync(http, c * 1_000_000 + n++);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref errors);
                        continue;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                    continue;
                }

                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        double elapsed = clock.Elapsed.TotalSeconds;
        double[] all = latencies.SelectMany(l => l).Order().ToArray();
        var result = new ModeResult(name, maxBatch, window.TotalMilliseconds, all.Length, errors, Math.Round(elapsed, 2),
            Math.Round(all.Length / elapsed, 1), Percentile(all, 0.50), Percentile(all, 0.99), all.Length == 0 ? 0 : Math.Round(all.Average(), 2),
            counting.Runs, counting.Runs == 0 ? 0 : Math.Round((double)counting.Inputs / counting.Runs, 2));
        Console.Error.WriteLine($"{name,-10} {result.Requests,8} requests {result.Errors,5} errors {result.ThroughputRps,9:F1} req/s  p50 {result.P50Ms,7:F2} ms  p99 {result.P99Ms,7:F2} ms  {result.ModelRuns} model runs, {result.MeanInputsPerRun:F1} inputs/run");
        return result;
    }
    finally
    {
        await app.StopAsync();
        await app.DisposeAsync();
        if (Directory.Exists(store))
        {
            Directory.Delete(store, recursive: true);
        }
    }
}

Task<HttpResponseMessage> PostAsync(HttpClient http, int n) =>
    http.PostAsync("/v1/embeddings", new StringContent(input == "image" ? imageBody
        : JsonSerializer.Serialize(new { input = $"a photo of thing number {n} on a sunny day" }), Encoding.UTF8, "application/json"));

static double Percentile(double[] sorted, double p) =>
    sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)], 2);

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")))
        {
            return dir.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}

internal sealed record ModeResult(string Mode, int MaxBatchSize, double BatchWindowMs, int Requests, int Errors, double ElapsedSeconds,
    double ThroughputRps, double P50Ms, double P99Ms, double MeanMs, long ModelRuns, double MeanInputsPerRun);

/// <summary>Counts model runs (text or image) and their inputs, to show how far batching merged the requests.</summary>
internal sealed class CountingEmbedder(Omnivec.IMultimodalEmbeddingGenerator inner) : Omnivec.IMultimodalEmbeddingGenerator
{
    private long _runs;
    private long _inputs;

    public long Runs => Interlocked.Read(ref _runs);
    public long Inputs => Interlocked.Read(ref _inputs);
    public Omnivec.EmbeddingSpace Space => inner.Space;

    public void Reset()
    {
        Interlocked.Exchange(ref _runs, 0);
        Interlocked.Exchange(ref _inputs, 0);
    }

    public Task<Microsoft.Extensions.AI.GeneratedEmbeddings<Microsoft.Extensions.AI.Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        Microsoft.Extensions.AI.EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        string[] v = values.ToArray();
        Interlocked.Increment(ref _runs);
        Interlocked.Add(ref _inputs, v.Length);
        return ((Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>>)inner).GenerateAsync(v, options, cancellationToken);
    }

    public Task<Microsoft.Extensions.AI.GeneratedEmbeddings<Microsoft.Extensions.AI.Embedding<float>>> GenerateAsync(IEnumerable<Microsoft.Extensions.AI.DataContent> values,
        Microsoft.Extensions.AI.EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Microsoft.Extensions.AI.DataContent[] v = values.ToArray();
        Interlocked.Increment(ref _runs);
        Interlocked.Add(ref _inputs, v.Length);
        return ((Microsoft.Extensions.AI.IEmbeddingGenerator<Microsoft.Extensions.AI.DataContent, Microsoft.Extensions.AI.Embedding<float>>)inner).GenerateAsync(v, options, cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);

    public void Dispose()
    {
    }
}
