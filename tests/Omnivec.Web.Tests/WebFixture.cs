using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Omnivec.Onnx;
using Omnivec.Server;
using Omnivec.Tests;

namespace Omnivec.Web.Tests;

/// <summary>
/// One real server (tiny CLIP model, temp store seeded with corpus photos through the upload API) and one headless
/// Debian Chromium, shared by the page tests. The page is served from the source tree so tests never see a stale copy.
/// </summary>
public sealed class WebFixture : IAsyncLifetime
{
    /// <summary>Photos indexed before any test runs; none of them is uploaded again by a test.</summary>
    public static readonly string[] SeedPhotos =
    [
        "tabby_cat_lying.jpg", "two_beagles.jpg", "puppies_on_road.jpg", "bananas.jpg", "tomatoes.jpg", "palm_trees_sky.jpg",
        "boardwalk_to_sea.jpg", "white_mug.jpg", "motel_sign.jpg", "hotdog.jpg", "yoga_pose_beach.jpg", "succulent_plants.jpg",
    ];

    private ClipEmbeddingGenerator? _embedder;
    private IPlaywright? _playwright;
    private readonly List<WebApplication> _servers = [];
    private readonly List<string> _tempDirs = [];

    public IBrowser Browser { get; private set; } = null!;

    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Fail (not skip) without the browser: CI installs it with apt, and a silently skipped UI suite hides regressions.
        string chromium = Environment.GetEnvironmentVariable("OMNIVEC_CHROMIUM") is { Length: > 0 } env ? env : "/usr/bin/chromium";
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException(
                $"Chromium was not found at {chromium}. The web page tests drive Debian's Chromium: install it with `apt-get install chromium` (never `playwright install`).");
        }

        _embedder = ClipEmbeddingGenerator.Load(Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-hf"));
        Server = await StartServerAsync();
        Server.SeedIds = await Server.UploadAsync("default", SeedPhotos.Select(p => TestPaths.CorpusFile("images", "photos", p)));

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary>Starts another server on a free loopback port with its own empty store.</summary>
    public Task<TestServer> StartServerAsync(params string[] apiKeys) => StartServerAsync(null, apiKeys);

    /// <summary>Starts another server whose store <paramref name="seed"/> fills first (with the server's model), e.g. by indexing a folder.</summary>
    public Task<TestServer> StartServerAsync(Func<string, ClipEmbeddingGenerator, Task>? seed, params string[] apiKeys) =>
        StartServerAsync(_embedder!, seed is null ? null : store => seed(store, _embedder!), apiKeys);

    /// <summary>Starts a server running <paramref name="model"/> (e.g. the tiny CLAP pack), its store filled by <paramref name="seed"/> first.</summary>
    public Task<TestServer> StartServerAsync(IMultimodalEmbeddingGenerator model, Func<string, Task>? seed, params string[] apiKeys) =>
        StartServerAsync(model, seed, null, apiKeys);

    /// <summary>Starts another server with an empty store and options changed by <paramref name="configure"/>.</summary>
    public Task<TestServer> StartConfiguredServerAsync(Action<OmnivecServerOptions> configure) => StartServerAsync(_embedder!, null, configure);

    private async Task<TestServer> StartServerAsync(IMultimodalEmbeddingGenerator model, Func<string, Task>? seed, Action<OmnivecServerOptions>? configure,
        params string[] apiKeys)
    {
        string store = Directory.CreateTempSubdirectory("omnivec-web-").FullName;
        _tempDirs.Add(store);
        if (seed is not null)
        {
            await seed(store);
        }

        var options = new OmnivecServerOptions
        {
            StoreRoot = store,
            WebRoot = Path.Combine(TestPaths.RepoRoot, "src", "Omnivec.Server", "wwwroot"),
            MinimumLogLevel = LogLevel.Warning,
        };
        options.Urls.Clear();
        options.Urls.Add("http://127.0.0.1:0");
        foreach (string key in apiKeys)
        {
            options.ApiKeys.Add(key);
        }

        configure?.Invoke(options);

        WebApplication app = OmnivecServer.Build(model, options);
        await app.StartAsync();
        _servers.Add(app);
        var baseUrl = new Uri(app.Urls.First());
        return new TestServer(baseUrl, apiKeys.FirstOrDefault());
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        foreach (WebApplication app in _servers)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        _embedder?.Dispose();
        foreach (string dir in _tempDirs)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open must not fail the run.
            }
        }
    }
}

/// <summary>A running server and a plain HTTP client for arranging and checking state behind the page's back.</summary>
public sealed class TestServer(Uri baseUrl, string? apiKey)
{
    private readonly HttpClient _http = CreateClient(baseUrl, apiKey);

    public Uri BaseUrl { get; } = baseUrl;

    /// <summary>Item ids of the seed photos by file name.</summary>
    public IReadOnlyDictionary<string, long> SeedIds { get; set; } = new Dictionary<string, long>();

    private static HttpClient CreateClient(Uri baseUrl, string? apiKey)
    {
        var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromMinutes(2) };
        if (apiKey is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return http;
    }

    public Task<Dictionary<string, long>> UploadAsync(string collection, IEnumerable<string> files) =>
        UploadAsync(collection, files.Select(f => (f, Path.GetFileName(f))));

    /// <summary>Uploads files under the names given (the name a person sees and searches by); returns their ids by name.</summary>
    public async Task<Dictionary<string, long>> UploadAsync(string collection, IEnumerable<(string Path, string Name)> files)
    {
        using var form = new MultipartFormDataContent();
        foreach ((string file, string name) in files)
        {
            var content = new ByteArrayContent(await File.ReadAllBytesAsync(file));
            content.Headers.ContentType = new MediaTypeHeaderValue(file.EndsWith(".png", StringComparison.Ordinal) ? "image/png" : "image/jpeg");
            form.Add(content, "files", name);
        }

        using HttpResponseMessage response = await _http.PostAsync(new Uri($"v1/collections/{collection}/items", UriKind.Relative), form);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"Seeding upload failed: {(int)response.StatusCode} {body}");
        using JsonDocument doc = JsonDocument.Parse(body);
        Assert.Empty(doc.RootElement.GetProperty("errors").EnumerateArray());
        return doc.RootElement.GetProperty("items").EnumerateArray()
            .ToDictionary(i => i.GetProperty("name").GetString()!, i => i.GetProperty("id").GetInt64());
    }

    public async Task<long[]> SearchByItemAsync(string collection, long itemId, int topK)
    {
        using var request = JsonContent.Create(new Dictionary<string, object> { ["collection"] = collection, ["item_id"] = itemId, ["top_k"] = topK });
        using HttpResponseMessage response = await _http.PostAsync(new Uri("v1/search", UriKind.Relative), request);
        response.EnsureSuccessStatusCode();
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()).ToArray();
    }

    /// <summary>Ids of a weighted query's results (no cutoff), as the page asks for them after "Show the nearest anyway".</summary>
    public async Task<long[]> SearchQueryAsync(string collection, object[] terms, int topK) =>
        (await SearchAsync(new Dictionary<string, object> { ["collection"] = collection, ["query"] = terms, ["top_k"] = topK, ["all"] = true })).Ids;

    /// <summary>
    /// A weighted query with the relevance cutoff and an order, as the page asks for words by default: the ids shown,
    /// and whether the answer was "no match".
    /// </summary>
    public Task<(long[] Ids, bool NoMatch)> SearchCutAsync(string collection, object[] terms, int topK, string sort = "score", string mode = "hybrid") =>
        SearchAsync(new Dictionary<string, object> { ["collection"] = collection, ["query"] = terms, ["top_k"] = topK, ["all"] = false, ["sort"] = sort, ["mode"] = mode });

    /// <summary>POST /v1/search with this JSON body: the result ids in order, and the answer's no_match.</summary>
    public async Task<(long[] Ids, bool NoMatch)> SearchAsync(Dictionary<string, object> body)
    {
        using var request = JsonContent.Create(body);
        using HttpResponseMessage response = await _http.PostAsync(new Uri("v1/search", UriKind.Relative), request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        using JsonDocument doc = JsonDocument.Parse(text);
        bool noMatch = doc.RootElement.TryGetProperty("no_match", out JsonElement flag) && flag.ValueKind == JsonValueKind.True;
        return (doc.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()).ToArray(), noMatch);
    }

    public async Task<long> CountAsync(string collection)
    {
        using JsonDocument doc = JsonDocument.Parse(await _http.GetStringAsync(new Uri("v1/collections", UriKind.Relative)));
        return doc.RootElement.EnumerateArray().Where(c => c.GetProperty("name").GetString() == collection)
            .Select(c => c.GetProperty("count").GetInt64()).FirstOrDefault();
    }
}
