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
