using Omnivec;
using Omnivec.Providers;
using Omnivec.Providers.Google;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Vertex AI multimodal embeddings in a service collection.</summary>
public static class VertexAIServiceCollectionExtensions
{
    /// <summary>The named HttpClient the generator uses; configure it with AddHttpClient(name) to add handlers.</summary>
    public const string HttpClientName = "Omnivec.VertexAI";

    /// <summary>
    /// Registers a singleton <see cref="VertexAIEmbeddingGenerator"/> as <see cref="IMultimodalEmbeddingGenerator"/>,
    /// as both IEmbeddingGenerator interfaces, and as keyed service "google".
    /// </summary>
    public static IServiceCollection AddVertexAIEmbeddings(this IServiceCollection services, Action<VertexAIOptions> configure) =>
        ProviderRegistration.AddProvider<VertexAIEmbeddingGenerator, VertexAIOptions>(services, configure, HttpClientName, "google",
            (options, client, logger) => new VertexAIEmbeddingGenerator(options, httpClient: null, clientFactory: client, logger: logger, getVariable: Environment.GetEnvironmentVariable));
}
