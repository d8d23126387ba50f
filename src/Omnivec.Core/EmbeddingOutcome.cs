using Microsoft.Extensions.AI;

namespace Omnivec;

/// <summary>The result for one input of a batch in which inputs may fail independently (a corrupt image among good ones).</summary>
public readonly record struct EmbeddingOutcome(Embedding<float>? Embedding, OmnivecException? Error)
{
    public bool Succeeded => Embedding is not null;
}

/// <summary>
/// Optional capability of an image embedder: embed a batch where each input succeeds or fails on its own, so one bad
/// file costs only itself. <see cref="IEmbeddingGenerator{TInput, TEmbedding}.GenerateAsync"/> fails a whole call instead.
/// </summary>
public interface IPerItemImageEmbedder
{
    /// <summary>One outcome per image, in input order.</summary>
    IReadOnlyList<EmbeddingOutcome> EmbedEach(IReadOnlyList<DataContent> images, CancellationToken cancellationToken = default);
}
