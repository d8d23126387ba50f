using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Omnivec.Providers.Tests.Fakes;

namespace Omnivec.Providers.Tests;

/// <summary>
/// The fakes are only worth something if they are strict: these tests send raw requests that break the documented
/// contracts and check the fakes refuse them with the services' error bodies.
/// </summary>
public sealed class FakeContractTests : IDisposable
{
    private readonly FakeVertexAIService _google = new();
    private readonly FakeAzureVisionService _azure = new();
    private readonly HttpClient _http = new();

    public FakeContractTests()
    {
        _google.Start();
        _azure.Start();
    }

    public void Dispose()
    {
        _http.Dispose();
        _google.Dispose();
        _azure.Dispose();
    }

    private string PredictUrl => new Uri(_google.BaseUri!,
        $"v1/projects/{_google.Project}/locations/{_google.Location}/publishers/google/models/multimodalembedding@001:predict").AbsoluteUri;

    private async Task<(HttpStatusCode Status, JsonElement Error)> PostGoogle(string json, string? token = FakeVertexAIService.DefaultAccessToken, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, PredictUrl) { Content = new StringContent(json, Encoding.UTF8, contentType) };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using HttpResponseMessage response = await _http.SendAsync(request);
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, doc.RootElement.TryGetProperty("error", out JsonElement e) ? e.Clone() : doc.RootElement.Clone());
    }

    [Theory]
    [InlineData("""{"instances":[{"text":"a"},{"text":"b"}]}""", "one instance")]
    [InlineData("""{"instances":[{"text":"a","colour":"red"}]}""", "colour")]
    [InlineData("""{"instances":[{"text":"a"}],"parameters":{"dimension":300}}""", "dimension")]
    [InlineData("""{"instances":[{"text":"a"}],"parameters":{"dimension":256,"topK":1}}""", "topK")]
    [InlineData("""{"instances":[{"text":"a"}],"extra":1}""", "extra")]
    [InlineData("""{"instances":[{"image":{"bytesBase64Encoded":"aGVsbG8="}}]}""", "decode")]
    [InlineData("""{"instances":[{"image":{"gcsUri":"gs://b/o","bytesBase64Encoded":"aGVsbG8="}}]}""", "exactly one")]
    [InlineData("""{"instances":[{"video":{"gcsUri":"gs://b/v.mp4","videoSegmentConfig":{"intervalSec":2}}}]}""", "intervalSec")]
    [InlineData("""{"instances":[{"video":{"gcsUri":"gs://b/v.mp4"}}],"parameters":{"dimension":512}}""", "1408")]
    [InlineData("""{"instances":[]}""", "one instance")]
    public async Task Google_fake_rejects_contract_violations_with_invalid_argument(string json, string hint)
    {
        (HttpStatusCode status, JsonElement error) = await PostGoogle(json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(400, error.GetProperty("code").GetInt32());
        Assert.Equal("INVALID_ARGUMENT", error.GetProperty("status").GetString());
        Assert.Contains(hint, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, _google.PredictCount);
    }

    [Fact]
    public async Task Google_fake_requires_the_bearer_token_and_json()
    {
        const string ok = """{"instances":[{"text":"a"}]}""";
        Assert.Equal("UNAUTHENTICATED", (await PostGoogle(ok, token: null)).Error.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostGoogle(ok, token: "other")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostGoogle(ok, contentType: "text/plain")).Status);
        (HttpStatusCode status, JsonElement body) = await PostGoogle(ok);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1408, body.GetProperty("predictions")[0].GetProperty("textEmbedding").GetArrayLength());
    }

    private async Task<(HttpStatusCode Status, JsonElement Error)> PostAzure(string operation, HttpContent content, string? key = FakeAzureVisionService.DefaultApiKey, string query = "?api-version=2024-02-01&model-version=2023-04-15")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_azure.BaseUri!, "computervision/retrieval:" + operation + query)) { Content = content };
        if (key is not null)
        {
            request.Headers.Add("Ocp-Apim-Subscription-Key", key);
        }

        using HttpResponseMessage response = await _http.SendAsync(request);
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, doc.RootElement.TryGetProperty("error", out JsonElement e) ? e.Clone() : doc.RootElement.Clone());
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static ByteArrayContent Bytes(byte[] data)
    {
        var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    [Fact]
    public async Task Azure_fake_enforces_the_documented_contract()
    {
        Assert.Equal("401", (await PostAzure("vectorizeText", Json("""{"text":"a"}"""), key: null)).Error.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAzure("vectorizeText", Json("""{"text":"a"}"""), key: "nope")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAzure("vectorizeText", Json("""{"text":"a","lang":"en"}"""))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAzure("vectorizeText", Json($$"""{"text":"{{string.Join(' ', Enumerable.Repeat("w", 71))}}"}"""))).Status);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await PostAzure("vectorizeText", new StringContent("a", Encoding.UTF8, "text/plain"))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAzure("vectorizeText", Json("""{"text":"a"}"""), query: "?api-version=2024-02-01&model-version=latest")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAzure("vectorizeText", Json("""{"text":"a"}"""), query: "?model-version=2023-04-15")).Status);

        (HttpStatusCode status, JsonElement error) = await PostAzure("vectorizeImage", Bytes(TestImages.Png(5, 5)));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("InvalidRequest", error.GetProperty("code").GetString());
        Assert.Equal("InvalidImageDimension", error.GetProperty("innererror").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAzure("vectorizeImage", Json("""{"url":"ftp://x/y.png"}"""))).Status);

        (HttpStatusCode okStatus, JsonElement ok) = await PostAzure("vectorizeImage", Bytes(TestImages.Png(50, 50)));
        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Equal("2023-04-15", ok.GetProperty("modelVersion").GetString());
        Assert.Equal(1024, ok.GetProperty("vector").GetArrayLength());
    }

    [Fact]
    public async Task Faults_carry_retry_after_and_the_service_error_body()
    {
        _google.EnqueueFault(new FakeFault(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", RetryAfter: "3"));
        using var request = new HttpRequestMessage(HttpMethod.Post, PredictUrl) { Content = Json("""{"instances":[{"text":"a"}]}""") };
        using HttpResponseMessage response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), response.Headers.RetryAfter?.Delta);
        Assert.Contains("RESOURCE_EXHAUSTED", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
