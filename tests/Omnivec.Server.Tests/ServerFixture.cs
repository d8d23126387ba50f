using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;
using Omnivec.Tests;
using Microsoft.Extensions.DependencyInjection;
using Omnivec.Onnx;
using Omnivec.Server;

namespace Omnivec.Server.Tests;

/// <summary>The tiny test CLIP, loaded once for all tests.</summary>
internal static class TestModel
{
    private static readonly Lazy<ClipEmbeddingGenerator> s_model = new(() =>
        ClipEmbeddingGenerator.Load(Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-hf")));

    public static ClipEmbeddingGenerator Clip => s_model.Value;

    public static byte[] Photo(string name) => File.ReadAllBytes(TestPaths.CorpusFile("images", "photos", name));
}

/// <summary>Counts model runs (calls reaching the real model) and their sizes, to observe dynamic batching.</summary>
internal sealed class CountingEmbedder(IMultimodalEmbeddingGenerator inner) : IMultimodalEmbeddingGenerator
{
    public ConcurrentQueue<int> TextRuns { get; } = new();
    public ConcurrentQueue<int> ImageRuns { get; } = new();

    public EmbeddingSpace Space => inner.Space;

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        string[] v = values.ToArray();
        TextRuns.Enqueue(v.Length);
        return ((IEmbeddingGenerator<string, Embedding<float>>)inner).GenerateAsync(v, options, cancellationToken);
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        DataContent[] v = values.ToArray();
        ImageRuns.Enqueue(v.Length);
        return ((IEmbeddingGenerator<DataContent, Embedding<float>>)inner).GenerateAsync(v, options, cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);

    public void Dispose()
    {
    }
}

/// <summary>A real server on a random loopback port, with a temporary store.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly bool _ownsStore;

    private RunningServer(WebApplication app, string store, bool ownsStore, CountingEmbedder embedder, Uri baseAddress)
    {
        _app = app;
        _ownsStore = ownsStore;
        Registry = app.Services.GetRequiredService<CollectionRegistry>();
        Thumbnails = app.Services.GetRequiredService<Thumbnails>();
        Fetcher = app.Services.GetRequiredService<ImageUrlFetcher>();
        Store = store;
        Embedder = embedder;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress };
    }

    public string Store { get; }
    public CountingEmbedder Embedder { get; }
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }
    internal ImageUrlFetcher Fetcher { get; }
    internal CollectionRegistry Registry { get; }
    internal Thumbnails Thumbnails { get; }
    internal ServerEmbedder ServerEmbedder => _app.Services.GetRequiredService<ServerEmbedder>();

    public static async Task<RunningServer> StartAsync(Action<OmnivecServerOptions>? configure = null, IMultimodalEmbeddingGenerator? model = null)
    {
        string store = Path.Combine(Path.GetTempPath(), "omnivec-srv-" + Guid.NewGuid().ToString("N"));
        var options = new OmnivecServerOptions { StoreRoot = store, MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.Urls.Clear();
        options.Urls.Add("http://127.0.0.1:0");
        configure?.Invoke(options);
        var embedder = new CountingEmbedder(model ?? TestModel.Clip);
        WebApplication app = OmnivecServer.Build(embedder, options);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new RunningServer(app, options.StoreRoot, options.StoreRoot == store, embedder, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (!_ownsStore)
        {
            return;
        }

        try
        {
            Directory.Delete(Store, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>The server most tests share: small limits so the limit tests stay cheap, URL fetching on for loopback hosts (to prove they are refused).</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    internal RunningServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RunningServer.StartAsync(o =>
    {
        o.MaxItemsPerRequest = 8;
        o.MaxTextLength = 200;
        o.MaxImagePixels = 1_000_000;
        o.MaxRequestBytes = 4L << 20;
        o.BatchWindow = TimeSpan.FromMilliseconds(25);
        o.AllowImageUrls = true;
        o.ImageUrlAllowList.Add("127.0.0.1");
        o.ImageUrlAllowList.Add("169.254.169.254");
        o.ImageUrlAllowList.Add("[::1]");
        o.ImageUrlAllowList.Add("localhost");
        o.ImageUrlTimeout = TimeSpan.FromSeconds(3);
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
