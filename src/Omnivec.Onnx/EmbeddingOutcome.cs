using Microsoft.Extensions.AI;

namespace Omnivec.Onnx;

/// <summary>The result for one input of a batch in which inputs may fail independently (a corrupt image among good ones).</summary>
public readonly record struct EmbeddingOutcome(Embedding<float>? Embedding, OmnivecException? Error)
{
    public bool Succeeded => Embedding is not null;
}
