using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Omnivec.Providers;

/// <summary>The DI registration every cloud provider shares: options, a named HttpClient, and one singleton generator
/// exposed as <see cref="IMultimodalEmbeddingGenerator"/>, as both IEmbeddingGenerator interfaces and under a key.</summary>
internal static class ProviderRegistration
{
    public static IServiceCollection AddProvider<TGenerator, TOptions>(
        IServiceCollection services,
        Action<TOptions> configure,
        string httpClientName,
        string key,
        Func<TOptions, Func<HttpClient>, ILogger?, TGenerator> create)
        where TGenerator : class, IMultimodalEmbeddingGenerator
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<TOptions>().Configure(configure);
        // The generator applies its own per-attempt timeouts; the client's would cut retries short.
        services.AddHttpClient(httpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        services.TryAddSingleton(sp =>
        {
            IHttpClientFactory factory = sp.GetRequiredService<IHttpClientFactory>();
            return create(sp.GetRequiredService<IOptions<TOptions>>().Value, () => factory.CreateClient(httpClientName),
                sp.GetService<ILoggerFactory>()?.CreateLogger<TGenerator>());
        });
        services.AddSingleton<IMultimodalEmbeddingGenerator>(sp => sp.GetRequiredService<TGenerator>());
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp => sp.GetRequiredService<TGenerator>());
        services.AddSingleton<IEmbeddingGenerator<DataContent, Embedding<float>>>(sp => sp.GetRequiredService<TGenerator>());
        services.AddKeyedSingleton<IMultimodalEmbeddingGenerator>(key, (sp, _) => sp.GetRequiredService<TGenerator>());
        return services;
    }
}
