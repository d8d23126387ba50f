using System.Net;
using Omnivec.Http;
using Omnivec.Providers.Azure;
using Omnivec.Providers.Google;
using Omnivec.Providers.Tests.Fakes;

namespace Omnivec.Providers.Tests;

/// <summary>
/// Both providers run the one <see cref="RetryPolicy"/> of Omnivec.Http (the Hub runs it too): the same statuses are
/// retried, the same ones are not, and both fail with the one <see cref="EmbeddingServiceException"/>.
/// </summary>
public sealed class SharedRetryPolicyTests : IDisposable
{
    private readonly FakeVertexAIService _google = new();
    private readonly FakeAzureVisionService _azure = new();

    public SharedRetryPolicyTests()
    {
        _google.Start();
        _azure.Start();
    }

    public void Dispose()
    {
        _google.Dispose();
        _azure.Dispose();
    }

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(501)]
    [InlineData(503)]
    public async Task Both_providers_retry_exactly_the_statuses_the_shared_policy_calls_retryable(int status)
    {
        const int maxRetries = 2;
        int expectedRequests = RetryPolicy.IsRetryable((HttpStatusCode)status) ? maxRetries + 1 : 1;
        for (int i = 0; i < maxRetries + 1; i++)
        {
            _google.EnqueueFault(new FakeFault(status, "CODE", "fault " + i, RetryAfter: "0"));
            _azure.EnqueueFault(new FakeFault(status, "CODE", "fault " + i, RetryAfter: "0"));
        }

        using var google = new VertexAIEmbeddingGenerator(new VertexAIOptions
        {
            Project = _google.Project,
            Location = _google.Location,
            Endpoint = _google.BaseUri,
            AccessToken = FakeVertexAIService.DefaultAccessToken,
            MaxRetries = maxRetries,
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        }, null, null, null, _ => null);
        using var azure = new AzureVisionEmbeddingGenerator(new AzureVisionOptions
        {
            Endpoint = _azure.BaseUri,
            ApiKey = FakeAzureVisionService.DefaultApiKey,
            MaxRetries = maxRetries,
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        });

        EmbeddingServiceException fromGoogle = await Assert.ThrowsAsync<EmbeddingServiceException>(() => google.GenerateAsync(["x"]));
        EmbeddingServiceException fromAzure = await Assert.ThrowsAsync<EmbeddingServiceException>(() => azure.GenerateAsync(["x"]));

        Assert.Equal(expectedRequests, _google.RequestCount);
        Assert.Equal(expectedRequests, _azure.RequestCount);
        Assert.Equal((HttpStatusCode)status, fromGoogle.StatusCode);
        Assert.Equal((HttpStatusCode)status, fromAzure.StatusCode);
        Assert.Equal(("google", "azure"), (fromGoogle.Provider, fromAzure.Provider));
    }
}
