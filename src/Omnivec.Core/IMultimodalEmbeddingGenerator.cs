using Microsoft.Extensions.AI;

namespace Omnivec;

/// <summary>
/// An embedder whose text and image vectors share one space, so either can search the other.
/// Both halves are ordinary Microsoft.Extensions.AI generators; images are passed as <see cref="DataContent"/>
/// (bytes plus media type), one vector per input, in input order.
/// </summary>
public interface IMultimodalEmbeddingGenerator :
    IEmbeddingGenerator<string, Embedding<float>>,
    IEmbeddingGenerator<DataContent, Embedding<float>>
{
    /// <summary>The space the vectors live in; collections store it and refuse vectors from any other.</summary>
    EmbeddingSpace Space { get; }
}

/// <summary>Shared plumbing for <see cref="IMultimodalEmbeddingGenerator"/> implementations.</summary>
public static class MultimodalEmbeddingGenerator
{
    /// <summary>
    /// The standard <c>GetService</c> answer: the generator's metadata, its <see cref="EmbeddingSpace"/>, or the generator
    /// itself for any type it implements; nothing for keyed requests.
    /// </summary>
    public static object? GetService(IMultimodalEmbeddingGenerator generator, EmbeddingGeneratorMetadata metadata, Type serviceType, object? serviceKey)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(EmbeddingGeneratorMetadata))
        {
            return metadata;
        }

        if (serviceType == typeof(EmbeddingSpace))
        {
            return generator.Space;
        }

        return serviceType.IsInstanceOfType(generator) ? generator : null;
    }
}
