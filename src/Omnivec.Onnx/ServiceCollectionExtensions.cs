using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Omnivec.Onnx;

/// <summary>Registers a local CLIP model with dependency injection.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers one shared <see cref="ClipEmbeddingGenerator"/> (loaded on first use) as <see cref="IMultimodalEmbeddingGenerator"/>
    /// and as the text and image <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>s.
    /// </summary>
    public static IServiceCollection AddClipEmbeddings(this IServiceCollection services, Action<ClipModelOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<ClipModelOptions>().Configure(configure);
        services.TryAddSingleton(sp => ClipEmbeddingGenerator.Load(sp.GetRequiredService<IOptions<ClipModelOptions>>().Value));
        services.TryAddSingleton<IMultimodalEmbeddingGenerator>(sp => sp.GetRequiredService<ClipEmbeddingGenerator>());
        services.TryAddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp => sp.GetRequiredService<ClipEmbeddingGenerator>());
        services.TryAddSingleton<IEmbeddingGenerator<DataContent, Embedding<float>>>(sp => sp.GetRequiredService<ClipEmbeddingGenerator>());
        return services;
    }
}
