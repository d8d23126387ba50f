using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Omnivec;
using Omnivec.Providers.Google;

namespace Microsoft.Extensions.DependencyInjection;

public static class VertexAIServiceCollectionExtensions
{
    /// <summary>The named HttpClient the generator uses; configure it with AddHttpClient(name) to add handlers.</summary>
    public const string HttpClientName = "Omnivec.VertexAI";

    /// <summary>
    /// Registers a singleton <see cref="VertexAIEmbeddingGenerator"/> as <see cref="IMultimodalEmbeddingGenerator"/>,
    /// as both IEmbeddingGenerator interfaces, and as keyed service "google".
    /// </summary>
    public static IServiceCollection AddVertexAIEmbeddings(this IServiceCollection services, Action<VertexAIOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<VertexAIOptions>().Configure(configure);
        services.AddHttpClient(HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        services.TryAddSingleton(sp =>
        {
            IHttpClientFactory factory = sp.GetRequiredService<IHttpClientFactory>();
            return new VertexAIEmbeddingGenerator(
                sp.GetRequiredService<IOptions<VertexAIOptions>>().Value,
                httpClient: null,
                clientFactory: () => factory.CreateClient(HttpClientName),
                logger: sp.GetService<ILoggerFactory>()?.CreateLogger<VertexAIEmbeddingGenerator>(),
                getVariable: Environment.GetEnvironmentVariable);
        });
        services.AddSingleton<IMultimodalEmbeddingGenerator>(sp => sp.GetRequiredService<VertexAIEmbeddingGenerator>());
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp => sp.GetRequiredService<VertexAIEmbeddingGenerator>());
        services.AddSingleton<IEmbeddingGenerator<DataContent, Embedding<float>>>(sp => sp.GetRequiredService<VertexAIEmbeddingGenerator>());
        services.AddKeyedSingleton<IMultimodalEmbeddingGenerator>("google", (sp, _) => sp.GetRequiredService<VertexAIEmbeddingGenerator>());
        return services;
    }
}
