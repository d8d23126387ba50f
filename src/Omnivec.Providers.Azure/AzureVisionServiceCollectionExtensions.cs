using Omnivec;
using Omnivec.Providers;
using Omnivec.Providers.Azure;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Azure AI Vision embeddings in a service collection.</summary>
public static class AzureVisionServiceCollectionExtensions
{
    /// <summary>The named HttpClient the generator uses; configure it with AddHttpClient(name) to add handlers.</summary>
    public const string HttpClientName = "Omnivec.AzureVision";

    /// <summary>
    /// Registers a singleton <see cref="AzureVisionEmbeddingGenerator"/> as <see cref="IMultimodalEmbeddingGenerator"/>,
    /// as both IEmbeddingGenerator interfaces, and as keyed service "azure".
    /// </summary>
    public static IServiceCollection AddAzureVisionEmbeddings(this IServiceCollection services, Action<AzureVisionOptions> configure) =>
        ProviderRegistration.AddProvider<AzureVisionEmbeddingGenerator, AzureVisionOptions>(services, configure, HttpClientName, "azure",
            (options, client, logger) => new AzureVisionEmbeddingGenerator(options, httpClient: null, clientFactory: client, logger: logger));
}
