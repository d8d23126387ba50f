using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Omnivec;
using Omnivec.Providers.Azure;

namespace Microsoft.Extensions.DependencyInjection;

public static class AzureVisionServiceCollectionExtensions
{
    /// <summary>The named HttpClient the generator uses; configure it with AddHttpClient(name) to add handlers.</summary>
    public const string HttpClientName = "Omnivec.AzureVision";

    /// <summary>
    /// Registers a singleton <see cref="AzureVisionEmbeddingGenerator"/> as <see cref="IMultimodalEmbeddingGenerator"/>,
    /// as both IEmbeddingGenerator interfaces, and as keyed service "azure".
    /// </summary>
    public static IServiceCollection AddAzureVisionEmbeddings(this IServiceCollection services, Action<AzureVisionOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<AzureVisionOptions>().Configure(configure);
        services.AddHttpClient(HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        services.TryAddSingleton(sp =>
        {
            IHttpClientFactory factory = sp.GetRequiredService<IHttpClientFactory>();
            return new AzureVisionEmbeddingGenerator(
                sp.GetRequiredService<IOptions<AzureVisionOptions>>().Value,
                httpClient: null,
                clientFactory: () => factory.CreateClient(HttpClientName),
                logger: sp.GetService<ILoggerFactory>()?.CreateLogger<AzureVisionEmbeddingGenerator>());
        });
        services.AddSingleton<IMultimodalEmbeddingGenerator>(sp => sp.GetRequiredService<AzureVisionEmbeddingGenerator>());
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp => sp.GetRequiredService<AzureVisionEmbeddingGenerator>());
        services.AddSingleton<IEmbeddingGenerator<DataContent, Embedding<float>>>(sp => sp.GetRequiredService<AzureVisionEmbeddingGenerator>());
        services.AddKeyedSingleton<IMultimodalEmbeddingGenerator>("azure", (sp, _) => sp.GetRequiredService<AzureVisionEmbeddingGenerator>());
        return services;
    }
}
