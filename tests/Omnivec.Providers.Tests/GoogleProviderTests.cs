using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Omnivec.Providers.Google;
using Omnivec.Providers.Tests.Fakes;
using Omnivec.Tests;

namespace Omnivec.Providers.Tests;

public sealed class GoogleProviderTests : IDisposable
{
    private readonly FakeVertexAIService _fake = new();
    private readonly CapturingLogger _log = new();

    public GoogleProviderTests() => _fake.Start();

    public void Dispose() => _fake.Dispose();

    private VertexAIEmbeddingGenerator Create(Action<VertexAIOptions>? configure = null)
    {
        VertexAIOptions options = _fake.ClientOptions();
        configure?.Invoke(options);
        // No environment lookups: the tests must not depend on the machine's variables.
        return new VertexAIEmbeddingGenerator(options, null, null, _log, _ => null);
    }

    internal static void AssertVector(float[] expected, ReadOnlyMemory<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        ReadOnlySpan<float> a = actual.Span;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - a[i]) < 1e-5f, $"component {i}: expected {expected[i]}, got {a[i]}");
        }

        double norm = Math.Sqrt(a.ToArray().Sum(x => (double)x * x));
        Assert.InRange(norm, 0.9999, 1.0001);
    }

    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    [InlineData(1408)]
    public async Task Text_one_unit_vector_per_input_in_order_at_each_dimension(int dims)
    {
        using var generator = Create(o => o.Dimensions = dims);
        string[] texts = ["a red bicycle", "two cats on a sofa", "snowy mountain", "bananas", "a lighthouse at dusk", "city at night"];

        GeneratedEmbeddings<Embedding<float>> result = await generator.GenerateAsync(texts);

        Assert.Equal(texts.Length, result.Count);
        for (int i = 0; i < texts.Length; i++)
        {
            AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.TextSeed(texts[i], dims), dims), result[i].Vector);
            Assert.Equal("multimodalembedding@001", result[i].ModelId);
        }

        Assert.Equal(texts.Length, _fake.PredictCount); // one instance per request
    }

    [Fact]
    public async Task No_inputs_means_no_requests()
    {
        using var generator = Create();
        Assert.Empty(await generator.GenerateAsync(Array.Empty<string>()));
        Assert.Empty(await generator.GenerateAsync(Array.Empty<DataContent>()));
        Assert.Equal(0, _fake.RequestCount);
    }

    [Fact]
    public async Task Per_call_dimension_overrides_the_default()
    {
        using var generator = Create();
        var result = await generator.GenerateAsync(["hello"], new EmbeddingGenerationOptions { Dimensions = 256 });
        AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.TextSeed("hello", 256), 256), result[0].Vector);
    }

    [Fact]
    public async Task Images_are_sent_as_base64_with_the_sniffed_mime_type()
    {
        byte[] jpeg = File.ReadAllBytes(TestPaths.CorpusFile("images", "photos", "bananas.jpg"));
        byte[] png = TestImages.Png(40, 30);
        byte[] gif = File.ReadAllBytes(TestPaths.CorpusFile("images", "formats", "gif_static_128.gif"));
        using var generator = Create(o => o.Dimensions = 512);

        // The JPEG is declared as octet-stream: the bytes decide the format.
        var result = await generator.GenerateAsync([new DataContent(jpeg, "application/octet-stream"), new DataContent(png, "image/png"), new DataContent(gif, "image/gif")]);

        AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.ImageSeed(jpeg, 512), 512), result[0].Vector);
        AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.ImageSeed(png, 512), 512), result[1].Vector);
        AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.ImageSeed(gif, 512), 512), result[2].Vector);
        string[] bodies = _fake.RequestBodies.Select(b => Encoding.UTF8.GetString(b)).ToArray();
        Assert.Contains(bodies, b => b.Contains("\"mimeType\":\"image/jpeg\"", StringComparison.Ordinal));
        Assert.Contains(bodies, b => b.Contains("\"mimeType\":\"image/png\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Image_in_cloud_storage_is_sent_by_uri()
    {
        using var generator = Create();
        Embedding<float> e = await generator.GenerateImageEmbeddingAsync(new Uri("gs://bucket/cat.jpg"));
        AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.ImageSeed("gs://bucket/cat.jpg", 1408), 1408), e.Vector);
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateImageEmbeddingAsync(new Uri("https://example.com/cat.jpg")));
    }

    [Fact]
    public async Task Video_bytes_give_segments_from_the_requested_window()
    {
        byte[] video = Encoding.ASCII.GetBytes("not really an mp4, the fake only hashes it");
        using var generator = Create();

        IReadOnlyList<VideoSegmentEmbedding> segments = await generator.GenerateVideoEmbeddingsAsync(
            new DataContent(video, "video/mp4"), new VideoSegmentOptions { StartOffsetSec = 0, EndOffsetSec = 40, IntervalSec = 16 });

        Assert.Equal([(0d, 16d), (16d, 32d), (32d, 40d)], segments.Select(s => (s.StartOffsetSec, s.EndOffsetSec)));
        foreach (VideoSegmentEmbedding s in segments)
        {
            AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.VideoSeed(video, (int)s.StartOffsetSec, (int)s.EndOffsetSec), 1408), s.Embedding.Vector);
        }

        using JsonDocument sent = JsonDocument.Parse(_fake.RequestBodies.Single());
        Assert.False(sent.RootElement.TryGetProperty("parameters", out _)); // dimension applies to text and images only
    }

    [Fact]
    public async Task Video_in_cloud_storage_uses_service_defaults_when_no_options()
    {
        _fake.VideoDurationSec = 30;
        using var generator = Create();
        var segments = await generator.GenerateVideoEmbeddingsAsync(new Uri("gs://bucket/clip.mp4"));
        Assert.Equal([(0d, 16d), (16d, 30d)], segments.Select(s => (s.StartOffsetSec, s.EndOffsetSec)));
        AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.VideoSeed("gs://bucket/clip.mp4", 16, 30), 1408), segments[1].Embedding.Vector);
    }

    [Fact]
    public async Task Invalid_inputs_fail_before_any_request()
    {
        using var generator = Create();
        using var small = Create(o => o.Dimensions = 512);
        byte[] video = [1, 2, 3];

        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateAsync(["ok"], new EmbeddingGenerationOptions { Dimensions = 300 }));
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateAsync(["fine", "   "]));
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateAsync([new DataContent(new byte[(20 * 1024 * 1024) + 1], "image/png")]));
        var webp = await Assert.ThrowsAsync<UnsupportedImageFormatException>(() =>
            generator.GenerateAsync([new DataContent(File.ReadAllBytes(TestPaths.CorpusFile("images", "formats", "webp_lossy_128.webp")), "image/webp")]));
        Assert.Contains("image/webp", webp.Message, StringComparison.Ordinal);
        var videoDims = await Assert.ThrowsAsync<InvalidInputException>(() => small.GenerateVideoEmbeddingsAsync(new DataContent(video, "video/mp4")));
        Assert.Contains("1408", videoDims.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateVideoEmbeddingsAsync(new DataContent(video, "video/mp4"), new VideoSegmentOptions { IntervalSec = 3 }));
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateVideoEmbeddingsAsync(new DataContent(video, "video/mp4"), new VideoSegmentOptions { StartOffsetSec = 10, EndOffsetSec = 5 }));
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateVideoEmbeddingsAsync(new DataContent(video, "image/png")));

        Assert.Equal(0, _fake.RequestCount);
    }

    [Theory]
    [InlineData(300)]
    [InlineData(1024)]
    public void Unsupported_configured_dimension_is_a_configuration_error(int dims) =>
        Assert.Throws<ModelConfigurationException>(() => Create(o => o.Dimensions = dims));

    [Fact]
    public void Missing_project_is_a_configuration_error() =>
        Assert.Throws<ModelConfigurationException>(() => Create(o => o.Project = null));

    [Fact]
    public async Task Text_over_the_token_limit_logs_an_estimate_warning_and_is_still_sent()
    {
        using var generator = Create();
        string longText = string.Join(' ', Enumerable.Range(0, 40).Select(i => "word" + i));

        await generator.GenerateAsync(["short text", longText]);

        var warning = Assert.Single(_log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("input 1", warning.Message, StringComparison.Ordinal);
        Assert.Contains("estimate", warning.Message, StringComparison.Ordinal);
        Assert.Contains("32", warning.Message, StringComparison.Ordinal);
        Assert.Equal(2, _fake.PredictCount);
    }

    [Fact]
    public async Task Service_error_is_surfaced_with_status_code_and_message_without_retry()
    {
        _fake.EnqueueFault(new FakeFault(400, "INVALID_ARGUMENT", "The image could not be processed."));
        using var generator = Create();

        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));

        Assert.Equal(HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Equal("INVALID_ARGUMENT", ex.ErrorCode);
        Assert.Equal("The image could not be processed.", ex.ServiceMessage);
        Assert.Equal("google", ex.Provider);
        Assert.Contains("INVALID_ARGUMENT", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, _fake.RequestCount);
    }

    [Fact]
    public async Task One_failing_input_among_many_surfaces_its_service_error()
    {
        _fake.ResponseDelay = TimeSpan.FromMilliseconds(30);
        _fake.EnqueueFault(new FakeFault(400, "INVALID_ARGUMENT", "Text is not allowed."));
        using var generator = Create(o => o.MaxConcurrency = 2);

        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(Enumerable.Range(0, 8).Select(i => "t" + i)));

        Assert.Equal("INVALID_ARGUMENT", ex.ErrorCode);
        Assert.True(_fake.RequestCount < 8, "the remaining inputs are abandoned after the first failure");
    }

    [Fact]
    public async Task Unknown_model_surfaces_not_found()
    {
        using var generator = Create(o => o.ModelId = "multimodalembedding@999");
        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));
        Assert.Equal(HttpStatusCode.NotFound, ex.StatusCode);
        Assert.Equal("NOT_FOUND", ex.ErrorCode);
    }

    [Fact]
    public async Task Wrong_token_gives_401_and_the_token_appears_nowhere()
    {
        const string wrong = "ya29.this-token-is-wrong-and-secret";
        using var generator = Create(o => { o.AccessToken = wrong; o.MaxRetries = 0; });

        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));

        Assert.Equal(HttpStatusCode.Unauthorized, ex.StatusCode);
        Assert.Equal("UNAUTHENTICATED", ex.ErrorCode);
        Assert.DoesNotContain(wrong, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, _log.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_message_echoing_the_token_is_redacted()
    {
        _fake.EnqueueFault(new FakeFault(403, "PERMISSION_DENIED", $"token {FakeVertexAIService.DefaultAccessToken} lacks permission"));
        using var generator = Create();
        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));
        Assert.DoesNotContain(FakeVertexAIService.DefaultAccessToken, ex.Message, StringComparison.Ordinal);
        Assert.Contains("***", ex.ServiceMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_many_requests_with_retry_after_seconds_is_retried_after_the_wait()
    {
        _fake.EnqueueFault(new FakeFault(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", RetryAfter: "1"));
        using var generator = Create();
        var clock = Stopwatch.StartNew();

        var result = await generator.GenerateAsync(["retry me"]);

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900), $"retried after {clock.ElapsedMilliseconds} ms");
        AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.TextSeed("retry me", 1408), 1408), result[0].Vector);
        Assert.Equal(2, _fake.RequestCount);
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("HTTP 429", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_errors_are_retried_up_to_the_cap_then_surfaced()
    {
        for (int i = 0; i < 5; i++)
        {
            _fake.EnqueueFault(new FakeFault(503, "UNAVAILABLE", "The service is currently unavailable."));
        }

        using var generator = Create(o => o.MaxRetries = 2);
        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ex.StatusCode);
        Assert.Equal("UNAVAILABLE", ex.ErrorCode);
        Assert.Equal(3, _fake.RequestCount);
    }

    [Fact]
    public async Task Cancellation_is_honoured_promptly()
    {
        _fake.ResponseDelay = TimeSpan.FromSeconds(20);
        using var generator = Create();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(["a", "b", "c"], cancellationToken: cts.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Per_request_timeout_is_retried_then_reported_as_a_timeout()
    {
        _fake.ResponseDelay = TimeSpan.FromSeconds(5);
        using var generator = Create(o => { o.Timeout = TimeSpan.FromMilliseconds(150); o.MaxRetries = 1; });

        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["slow"]));

        Assert.Null(ex.StatusCode);
        Assert.Equal("Timeout", ex.ErrorCode);
        Assert.Equal(2, _fake.RequestCount);
    }

    [Fact]
    public async Task Requests_in_flight_never_exceed_max_concurrency_even_across_calls()
    {
        _fake.ResponseDelay = TimeSpan.FromMilliseconds(80);
        using var generator = Create(o => o.MaxConcurrency = 3);
        string[] texts = Enumerable.Range(0, 12).Select(i => "text " + i).ToArray();

        var results = await Task.WhenAll(generator.GenerateAsync(texts), generator.GenerateAsync(texts.Reverse()));

        Assert.Equal(3, _fake.MaxInFlight);
        Assert.Equal(24, _fake.PredictCount);
        AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.TextSeed("text 11", 1408), 1408), results[1][0].Vector);
    }

    [Fact]
    public void Metadata_and_space_describe_the_model()
    {
        using var generator = Create();
        var metadata = Assert.IsType<EmbeddingGeneratorMetadata>(generator.GetService(typeof(EmbeddingGeneratorMetadata)));
        Assert.Equal("google", metadata.ProviderName);
        Assert.Equal(_fake.BaseUri, metadata.ProviderUri);
        Assert.Equal("multimodalembedding@001", metadata.DefaultModelId);
        Assert.Equal(1408, metadata.DefaultModelDimensions);

        Assert.Equal(new EmbeddingSpace("google", "multimodalembedding@001", "001", 1408) { Modalities = Modalities.Text | Modalities.Image | Modalities.Video }, generator.Space);
        Assert.True(generator.Space.Modalities.HasFlag(Modalities.Video));
        using var small = Create(o => o.Dimensions = 512);
        Assert.False(small.Space.Modalities.HasFlag(Modalities.Video));
        Assert.False(small.Space.IsCompatibleWith(generator.Space));
        Assert.Same(generator, generator.GetService(typeof(IMultimodalEmbeddingGenerator)));
    }

    [Fact]
    public void Default_endpoint_is_regional()
    {
        using var generator = new VertexAIEmbeddingGenerator(new VertexAIOptions { Project = "p1", Location = "europe-west4", AccessToken = "t" });
        Assert.Equal(
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/p1/locations/europe-west4/publishers/google/models/multimodalembedding@001:predict",
            generator.PredictUri.AbsoluteUri);
    }

    [Fact]
    public async Task Token_from_GOOGLE_OAUTH_ACCESS_TOKEN_is_used_when_none_is_given()
    {
        var options = new VertexAIOptions { Project = _fake.Project, Endpoint = _fake.BaseUri };
        using var generator = new VertexAIEmbeddingGenerator(options, null, null, _log,
            name => name == "GOOGLE_OAUTH_ACCESS_TOKEN" ? FakeVertexAIService.DefaultAccessToken : null);
        var result = await generator.GenerateAsync(["env token"]);
        Assert.Single(result);
    }

    [Fact]
    public async Task Service_account_key_file_gets_a_scoped_token_once_and_reuses_it()
    {
        string dir = Directory.CreateTempSubdirectory("omnivec-sa-").FullName;
        try
        {
            string keyFile = _fake.WriteServiceAccountKeyFile(dir);
            using var generator = Create(o => { o.AccessToken = null; o.CredentialsFile = keyFile; });

            var result = await generator.GenerateAsync(["one", "two", "three"]);

            Assert.Equal(3, result.Count);
            Assert.Equal(1, _fake.TokenRequests);
            Assert.DoesNotContain(FakeVertexAIService.DefaultAccessToken, _log.AllText, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Missing_key_file_is_an_authentication_error()
    {
        using var generator = Create(o => { o.AccessToken = null; o.CredentialsFile = "/nonexistent/key.json"; });
        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));
        Assert.Equal("AuthenticationFailed", ex.ErrorCode);
        Assert.Equal(0, _fake.RequestCount);
    }

    [Fact]
    public void Options_from_environment()
    {
        var env = new Dictionary<string, string>
        {
            ["GOOGLE_CLOUD_PROJECT"] = "proj",
            ["GOOGLE_CLOUD_LOCATION"] = "asia-northeast1",
            ["OMNIVEC_VERTEX_ENDPOINT"] = "http://127.0.0.1:9/",
            ["OMNIVEC_VERTEX_DIMENSIONS"] = "256",
            ["GOOGLE_OAUTH_ACCESS_TOKEN"] = "tok",
        };
        VertexAIOptions o = VertexAIOptions.FromEnvironment(env.GetValueOrDefault);
        Assert.Equal(("proj", "asia-northeast1", "http://127.0.0.1:9/", 256, "tok"), (o.Project, o.Location, o.Endpoint!.AbsoluteUri, o.Dimensions, o.AccessToken));

        VertexAIOptions defaults = VertexAIOptions.FromEnvironment(_ => null);
        Assert.Equal(("us-central1", 1408, 4, "multimodalembedding@001"), (defaults.Location, defaults.Dimensions, defaults.MaxConcurrency, defaults.ModelId));
        Assert.Throws<ModelConfigurationException>(() => VertexAIOptions.FromEnvironment(n => n == "OMNIVEC_VERTEX_DIMENSIONS" ? "big" : null));
    }

    [Fact]
    public async Task Dependency_injection_registers_one_generator_under_every_interface()
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(new CapturingLoggerProvider(_log)));
        services.AddVertexAIEmbeddings(o =>
        {
            o.Project = _fake.Project;
            o.Endpoint = _fake.BaseUri;
            o.AccessToken = FakeVertexAIService.DefaultAccessToken;
            o.Dimensions = 128;
        });
        using ServiceProvider provider = services.BuildServiceProvider();

        var multimodal = provider.GetRequiredService<IMultimodalEmbeddingGenerator>();
        Assert.Same(multimodal, provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Same(multimodal, provider.GetRequiredService<IEmbeddingGenerator<DataContent, Embedding<float>>>());
        Assert.Same(multimodal, provider.GetRequiredKeyedService<IMultimodalEmbeddingGenerator>("google"));
        Assert.Equal(128, multimodal.Space.Dimensions);

        var text = await provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>().GenerateAsync(["via di"]);
        AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.TextSeed("via di", 128), 128), text[0].Vector);
    }
}

/// <summary>Application Default Credentials read GOOGLE_APPLICATION_CREDENTIALS, a process-wide variable: kept in its own class.</summary>
public sealed class GoogleApplicationDefaultCredentialsTests
{
    [Fact]
    public async Task Application_default_credentials_from_a_key_file_are_used_when_no_token_is_given()
    {
        using var fake = new FakeVertexAIService();
        fake.Start();
        string dir = Directory.CreateTempSubdirectory("omnivec-adc-").FullName;
        string? previous = Environment.GetEnvironmentVariable("GOOGLE_APPLICATION_CREDENTIALS");
        try
        {
            Environment.SetEnvironmentVariable("GOOGLE_APPLICATION_CREDENTIALS", fake.WriteServiceAccountKeyFile(dir));
            using var generator = new VertexAIEmbeddingGenerator(
                new VertexAIOptions { Project = fake.Project, Endpoint = fake.BaseUri }, null, null, null, _ => null);

            var result = await generator.GenerateAsync(["adc"]);

            GoogleProviderTests.AssertVector(FakeServiceBase.UnitVector(FakeVertexAIService.TextSeed("adc", 1408), 1408), result[0].Vector);
            Assert.Equal(1, fake.TokenRequests);
        }
        finally
        {
            Environment.SetEnvironmentVariable("GOOGLE_APPLICATION_CREDENTIALS", previous);
            Directory.Delete(dir, recursive: true);
        }
    }
}
