using System.Diagnostics;
using System.Net;
using System.Text;
using Azure.Core;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Omnivec.Providers.Azure;
using Omnivec.Providers.Tests.Fakes;
using Omnivec.Tests;

namespace Omnivec.Providers.Tests;

public sealed class AzureProviderTests : IDisposable
{
    private readonly FakeAzureVisionService _fake = new();
    private readonly CapturingLogger _log = new();

    public AzureProviderTests() => _fake.Start();

    public void Dispose() => _fake.Dispose();

    private AzureVisionEmbeddingGenerator Create(Action<AzureVisionOptions>? configure = null)
    {
        var options = new AzureVisionOptions
        {
            Endpoint = _fake.BaseUri,
            ApiKey = FakeAzureVisionService.DefaultApiKey,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        };
        configure?.Invoke(options);
        return new AzureVisionEmbeddingGenerator(options, logger: _log);
    }

    private static float[] Text(string text, string version = "2023-04-15") =>
        FakeServiceBase.UnitVector(FakeAzureVisionService.TextSeed(text, version), 1024);

    private sealed class CountingCredential(string token) : TokenCredential
    {
        public int Calls;

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            Assert.Equal(["https://cognitiveservices.azure.com/.default"], requestContext.Scopes);
            return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(GetToken(requestContext, cancellationToken));
    }

    [Theory]
    [InlineData("2023-04-15")]
    [InlineData("2022-04-11")]
    public async Task Text_one_unit_vector_per_input_in_order(string version)
    {
        using var generator = Create(o => o.ModelVersion = version);
        string[] texts = ["a red bicycle", "two cats on a sofa", "snowy mountain", "bananas", "lighthouse"];

        var result = await generator.GenerateAsync(texts);

        Assert.Equal(texts.Length, result.Count);
        for (int i = 0; i < texts.Length; i++)
        {
            GoogleProviderTests.AssertVector(Text(texts[i], version), result[i].Vector);
        }

        Assert.Equal("multimodal-embeddings@" + version, result[0].ModelId);
    }

    [Fact]
    public async Task Images_are_posted_as_octet_stream_and_vectorised_in_order()
    {
        byte[] jpeg = File.ReadAllBytes(TestPaths.CorpusFile("images", "photos", "bananas.jpg"));
        byte[] png = TestImages.Png(100, 100);
        byte[] gif = File.ReadAllBytes(TestPaths.CorpusFile("images", "formats", "gif_static_128.gif"));
        using var generator = Create();

        var result = await generator.GenerateAsync([new DataContent(jpeg, "image/jpeg"), new DataContent(png, "image/png"), new DataContent(gif, "image/gif")]);

        GoogleProviderTests.AssertVector(FakeServiceBase.UnitVector(FakeAzureVisionService.ImageSeed(jpeg, "2023-04-15"), 1024), result[0].Vector);
        GoogleProviderTests.AssertVector(FakeServiceBase.UnitVector(FakeAzureVisionService.ImageSeed(png, "2023-04-15"), 1024), result[1].Vector);
        GoogleProviderTests.AssertVector(FakeServiceBase.UnitVector(FakeAzureVisionService.ImageSeed(gif, "2023-04-15"), 1024), result[2].Vector);
        Assert.All(_fake.RequestHeaders, h => Assert.Contains("Content-Type: application/octet-stream", h, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Image_url_is_sent_as_json()
    {
        using var generator = Create();
        var e = await generator.GenerateImageEmbeddingAsync(new Uri("https://example.com/cat.jpg"));
        GoogleProviderTests.AssertVector(FakeServiceBase.UnitVector(FakeAzureVisionService.UrlSeed("https://example.com/cat.jpg", "2023-04-15"), 1024), e.Vector);
        Assert.Equal("{\"url\":\"https://example.com/cat.jpg\"}", Encoding.UTF8.GetString(_fake.RequestBodies.Single()));
    }

    [Fact]
    public async Task Invalid_inputs_fail_before_any_request()
    {
        using var generator = Create();
        string words71 = string.Join(' ', Enumerable.Repeat("word", 71));

        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateAsync([words71]));
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateAsync(["ok", " \t "]));
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateAsync(["ok"], new EmbeddingGenerationOptions { Dimensions = 512 }));
        var small = await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateAsync([new DataContent(TestImages.Png(9, 100), "image/png")]));
        Assert.Contains("9x100", small.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateAsync([new DataContent(TestImages.Png(16001, 20), "image/png")]));
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateAsync([new DataContent(TestImages.Gif(10, 16001), "image/gif")]));
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateAsync([new DataContent(TestImages.Png(100, 100, 20 * 1024 * 1024), "image/png")]));
        await Assert.ThrowsAsync<UnsupportedImageFormatException>(() => generator.GenerateAsync([new DataContent(Encoding.ASCII.GetBytes("plain text, not an image"), "image/png")]));
        await Assert.ThrowsAsync<CorruptImageException>(() => generator.GenerateAsync([new DataContent(TestImages.Png(100, 100).AsMemory(0, 20), "image/png")]));
        await Assert.ThrowsAsync<InvalidInputException>(() => generator.GenerateImageEmbeddingAsync(new Uri("file:///etc/passwd")));

        Assert.Equal(0, _fake.RequestCount);
    }

    [Fact]
    public async Task Limits_at_the_edges_are_accepted()
    {
        using var generator = Create();
        string words70 = string.Join(' ', Enumerable.Repeat("word", 70));
        await generator.GenerateAsync([words70, "one"]);
        await generator.GenerateAsync([new DataContent(TestImages.Png(10, 10), "image/png"), new DataContent(TestImages.Png(16000, 16000), "image/png")]);
        Assert.Equal(4, _fake.RequestCount);
    }

    [Fact]
    public async Task Subscription_key_travels_in_its_header_only()
    {
        using var generator = Create();
        await generator.GenerateAsync(["hello"]);
        string headers = _fake.RequestHeaders.Single();
        Assert.Contains("Ocp-Apim-Subscription-Key: " + FakeAzureVisionService.DefaultApiKey, headers, StringComparison.Ordinal);
        Assert.DoesNotContain("Authorization", headers, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_key_an_entra_token_is_fetched_once_and_sent_as_bearer()
    {
        var credential = new CountingCredential(FakeAzureVisionService.DefaultBearerToken);
        using var generator = Create(o => { o.ApiKey = null; o.TokenCredential = credential; });

        var result = await generator.GenerateAsync(["one", "two", "three", "four"]);

        Assert.Equal(4, result.Count);
        Assert.Equal(1, credential.Calls);
        Assert.All(_fake.RequestHeaders, h => Assert.Contains("Authorization: Bearer " + FakeAzureVisionService.DefaultBearerToken, h, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Wrong_key_gives_401_and_the_key_appears_nowhere()
    {
        const string wrong = "wrong-azure-key-do-not-leak-93c1";
        using var generator = Create(o => o.ApiKey = wrong);

        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));

        Assert.Equal(HttpStatusCode.Unauthorized, ex.StatusCode);
        Assert.Equal("401", ex.ErrorCode);
        Assert.Contains("Access denied", ex.ServiceMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, _log.AllText, StringComparison.Ordinal);
        Assert.Equal(1, _fake.RequestCount); // 401 is not retried
    }

    [Fact]
    public async Task A_service_message_echoing_the_key_is_redacted()
    {
        _fake.EnqueueFault(new FakeFault(400, "InvalidRequest", $"bad request for key {FakeAzureVisionService.DefaultApiKey}"));
        using var generator = Create();
        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));
        Assert.DoesNotContain(FakeAzureVisionService.DefaultApiKey, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Service_error_is_surfaced_with_code_and_message()
    {
        _fake.EnqueueFault(new FakeFault(400, "InvalidRequest", "The image could not be downloaded."));
        using var generator = Create();

        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));

        Assert.Equal(HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Equal("InvalidRequest", ex.ErrorCode);
        Assert.Equal("The image could not be downloaded.", ex.ServiceMessage);
        Assert.Equal("azure", ex.Provider);
    }

    [Fact]
    public async Task Inner_error_code_from_the_service_is_kept()
    {
        // The client cannot read TIFF sizes, so a 1x1 TIFF reaches the service, which refuses it with an inner error code.
        byte[] tiff = [(byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 0, 0];
        using var generator = Create();
        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync([new DataContent(tiff, "image/tiff")]));
        Assert.Equal("InvalidRequest/InvalidImageFormat", ex.ErrorCode);
    }

    [Fact]
    public async Task Too_many_requests_with_retry_after_date_then_success()
    {
        string when = DateTimeOffset.UtcNow.AddSeconds(2).ToString("R");
        _fake.EnqueueFault(new FakeFault(429, "429", "Rate limit is exceeded. Try again later.", RetryAfter: when));
        using var generator = Create();
        var clock = Stopwatch.StartNew();

        var result = await generator.GenerateAsync(["retry me"]);

        // The date has one-second resolution, so the wait is between about 1 and 2 seconds.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900), $"retried after {clock.ElapsedMilliseconds} ms");
        GoogleProviderTests.AssertVector(Text("retry me"), result[0].Vector);
        Assert.Equal(2, _fake.RequestCount);
    }

    [Fact]
    public async Task Gateway_errors_without_retry_after_back_off_and_recover()
    {
        _fake.EnqueueFault(new FakeFault(502, "BadGateway", "upstream failed"));
        _fake.EnqueueFault(new FakeFault(500, "InternalServerError", "oops"));
        using var generator = Create();
        var result = await generator.GenerateAsync(["recovers"]);
        GoogleProviderTests.AssertVector(Text("recovers"), result[0].Vector);
        Assert.Equal(3, _fake.RequestCount);
        Assert.Equal(2, _log.Entries.Count(e => e.Level == LogLevel.Warning));
    }

    [Fact]
    public async Task Network_failure_is_reported_after_retries()
    {
        _fake.Start();
        Uri dead = _fake.BaseUri!;
        _fake.Dispose(); // nothing listens there any more
        using var generator = new AzureVisionEmbeddingGenerator(new AzureVisionOptions
        {
            Endpoint = dead,
            ApiKey = FakeAzureVisionService.DefaultApiKey,
            MaxRetries = 1,
            RetryBaseDelay = TimeSpan.FromMilliseconds(5),
        }, logger: _log);

        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));
        Assert.Null(ex.StatusCode);
        Assert.Equal("NetworkError", ex.ErrorCode);
    }

    [Fact]
    public async Task Cancellation_is_honoured_promptly()
    {
        _fake.ResponseDelay = TimeSpan.FromSeconds(20);
        using var generator = Create();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(["a", "b"], cancellationToken: cts.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Cancellation_during_a_retry_wait_is_prompt()
    {
        _fake.EnqueueFault(new FakeFault(429, "429", "slow down", RetryAfter: "20"));
        using var generator = Create();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(["a"], cancellationToken: cts.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Requests_in_flight_never_exceed_max_concurrency()
    {
        _fake.ResponseDelay = TimeSpan.FromMilliseconds(80);
        using var generator = Create(o => o.MaxConcurrency = 2);
        string[] texts = Enumerable.Range(0, 10).Select(i => "text " + i).ToArray();

        var result = await generator.GenerateAsync(texts);

        Assert.Equal(2, _fake.MaxInFlight);
        GoogleProviderTests.AssertVector(Text("text 9"), result[9].Vector);
    }

    [Fact]
    public async Task A_different_model_version_in_the_answer_is_refused()
    {
        _fake.ForceModelVersion = "2022-04-11";
        using var generator = Create();
        var ex = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["x"]));
        Assert.Equal("MalformedResponse", ex.ErrorCode);
        Assert.Contains("2022-04-11", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("latest")]
    [InlineData("")]
    public void Undated_model_version_is_a_configuration_error(string version) =>
        Assert.Throws<ModelConfigurationException>(() => Create(o => o.ModelVersion = version));

    [Fact]
    public void Missing_endpoint_is_a_configuration_error() =>
        Assert.Throws<ModelConfigurationException>(() => Create(o => o.Endpoint = null));

    [Fact]
    public void Metadata_and_space_describe_the_model()
    {
        using var generator = Create();
        var metadata = Assert.IsType<EmbeddingGeneratorMetadata>(generator.GetService(typeof(EmbeddingGeneratorMetadata)));
        Assert.Equal("azure", metadata.ProviderName);
        Assert.Equal(_fake.BaseUri, metadata.ProviderUri);
        Assert.Equal("multimodal-embeddings@2023-04-15", metadata.DefaultModelId);
        Assert.Equal(1024, metadata.DefaultModelDimensions);
        Assert.Equal(new EmbeddingSpace("azure", "multimodal-embeddings", "2023-04-15", 1024), generator.Space);

        using var english = Create(o => o.ModelVersion = "2022-04-11");
        Assert.False(english.Space.IsCompatibleWith(generator.Space));
    }

    [Fact]
    public void Options_from_environment()
    {
        var env = new Dictionary<string, string>
        {
            ["AZURE_VISION_ENDPOINT"] = "https://vision.example.cognitiveservices.azure.com/",
            ["AZURE_VISION_KEY"] = "k",
            ["AZURE_VISION_MODEL_VERSION"] = "2022-04-11",
        };
        AzureVisionOptions o = AzureVisionOptions.FromEnvironment(env.GetValueOrDefault);
        Assert.Equal(("https://vision.example.cognitiveservices.azure.com/", "k", "2022-04-11", "2024-02-01"), (o.Endpoint!.AbsoluteUri, o.ApiKey, o.ModelVersion, o.ApiVersion));
        AzureVisionOptions defaults = AzureVisionOptions.FromEnvironment(_ => null);
        Assert.Equal(("2023-04-15", (string?)null, (Uri?)null), (defaults.ModelVersion, defaults.ApiKey, defaults.Endpoint));
    }

    [Fact]
    public async Task Dependency_injection_registers_one_generator_under_every_interface()
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(new CapturingLoggerProvider(_log)));
        services.AddAzureVisionEmbeddings(o =>
        {
            o.Endpoint = _fake.BaseUri;
            o.ApiKey = FakeAzureVisionService.DefaultApiKey;
        });
        using ServiceProvider provider = services.BuildServiceProvider();

        var multimodal = provider.GetRequiredService<IMultimodalEmbeddingGenerator>();
        Assert.IsType<AzureVisionEmbeddingGenerator>(multimodal);
        Assert.Same(multimodal, provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Same(multimodal, provider.GetRequiredService<IEmbeddingGenerator<DataContent, Embedding<float>>>());
        Assert.Same(multimodal, provider.GetRequiredKeyedService<IMultimodalEmbeddingGenerator>("azure"));

        var image = await provider.GetRequiredService<IEmbeddingGenerator<DataContent, Embedding<float>>>()
            .GenerateAsync([new DataContent(TestImages.Png(64, 64), "image/png")]);
        GoogleProviderTests.AssertVector(FakeServiceBase.UnitVector(FakeAzureVisionService.ImageSeed(TestImages.Png(64, 64), "2023-04-15"), 1024), image[0].Vector);
    }
}
