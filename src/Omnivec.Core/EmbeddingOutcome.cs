using Microsoft.Extensions.AI;

namespace Omnivec;

/// <summary>The result for one input of a batch in which inputs may fail independently (a corrupt image among good ones).</summary>
public readonly record struct EmbeddingOutcome(Embedding<float>? Embedding, OmnivecException? Error)
{
    /// <summary>True when this input has an embedding; false when <see cref="Error"/> says why it has none.</summary>
    public bool Succeeded => Embedding is not null;
}

/// <summary>
/// Optional capability of an image embedder: embed a batch where each input succeeds or fails on its own, so one bad
/// file costs only itself. <see cref="IEmbeddingGenerator{TInput, TEmbedding}.GenerateAsync"/> fails a whole call instead.
/// Found with <c>GetService(typeof(IPerItemImageEmbedder))</c>, never by a type check.
/// </summary>
public interface IPerItemImageEmbedder
{
    /// <summary>One outcome per image, in input order.</summary>
    IReadOnlyList<EmbeddingOutcome> EmbedEach(IReadOnlyList<DataContent> images, CancellationToken cancellationToken = default);
}

/// <summary>
/// Optional capability of an image embedder that reads files itself (decoding them in parallel, each file succeeding
/// or failing on its own: missing, unreadable, corrupt). Found with <c>GetService(typeof(IImageFileEmbedder))</c>, so
/// decorators over the generator keep it reachable.
/// </summary>
public interface IImageFileEmbedder
{
    /// <summary>One outcome per file, in input order.</summary>
    IReadOnlyList<EmbeddingOutcome> EmbedImageFiles(IReadOnlyList<string> paths, CancellationToken cancellationToken = default);
}

/// <summary>Embedding a batch so that one bad input fails only itself.</summary>
public static class EmbeddingGeneratorBatchExtensions
{
    /// <summary>
    /// One outcome per input, in order. Uses <see cref="IPerItemImageEmbedder"/> when the generator offers it through
    /// <c>GetService</c> (so decorators such as batching, logging or caching do not hide it); otherwise
    /// one call for the whole batch and, if that fails on a bad input (an <see cref="OmnivecException"/>), one call per
    /// input, so a corrupt file or an over-long text among good ones is reported on its own. Other exceptions
    /// (cancellation, bugs) propagate.
    /// </summary>
    public static async Task<IReadOnlyList<EmbeddingOutcome>> GenerateEachAsync<TInput>(this IEmbeddingGenerator<TInput, Embedding<float>> generator,
        IReadOnlyList<TInput> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
        {
            return [];
        }

        if (inputs is IReadOnlyList<DataContent> images && generator.GetService<IPerItemImageEmbedder>() is { } each)
        {
            return each.EmbedEach(images, cancellationToken);
        }

        try
        {
            GeneratedEmbeddings<Embedding<float>> all = await generator.GenerateAsync(inputs, cancellationToken: cancellationToken).ConfigureAwait(false);
            return [.. all.Select(e => new EmbeddingOutcome(e, null))];
        }
        catch (OmnivecException ex) when (inputs.Count == 1)
        {
            return [new EmbeddingOutcome(null, ex)];
        }
        catch (OmnivecException)
        {
            // Some input is bad; find out which below.
        }

        var outcomes = new EmbeddingOutcome[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            try
            {
                GeneratedEmbeddings<Embedding<float>> one = await generator.GenerateAsync([inputs[i]], cancellationToken: cancellationToken).ConfigureAwait(false);
                outcomes[i] = new EmbeddingOutcome(one[0], null);
            }
            catch (OmnivecException ex)
            {
                outcomes[i] = new EmbeddingOutcome(null, ex);
            }
        }

        return outcomes;
    }
}
