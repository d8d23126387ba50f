using Microsoft.Extensions.AI;

namespace Omnivec.Server;

/// <summary>
/// Text embeddings of classification prompts ("a photo of a {label}."), kept in a bounded LRU so a label set asked for
/// again costs no model run. Misses go to the model in batch-sized pieces with the caller's token, so a caller that leaves
/// stops the work after at most one piece.
/// </summary>
internal sealed class PromptCache(ServerEmbedder embedder, OmnivecServerOptions options) : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly Dictionary<string, LinkedListNode<(string Prompt, Embedding<float> Embedding)>> _index = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Prompt, Embedding<float> Embedding)> _lru = new();
    private readonly Lock _gate = new();

    /// <summary>How many prompts were sent to the model (for tests).</summary>
    private long _misses;

    internal long Misses => Interlocked.Read(ref _misses);

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? generationOptions = null,
        CancellationToken cancellationToken = default)
    {
        string[] prompts = values as string[] ?? values.ToArray();
        var result = new Embedding<float>?[prompts.Length];
        var missing = new List<int>();
        lock (_gate)
        {
            for (int i = 0; i < prompts.Length; i++)
            {
                if (_index.TryGetValue(prompts[i], out var node))
                {
                    _lru.Remove(node);
                    _lru.AddFirst(node);
                    result[i] = node.Value.Embedding;
                }
                else
                {
                    missing.Add(i);
                }
            }
        }

        int piece = Math.Max(1, options.MaxBatchSize);
        for (int start = 0; start < missing.Count; start += piece)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int[] indexes = missing.GetRange(start, Math.Min(piece, missing.Count - start)).ToArray();
            GeneratedEmbeddings<Embedding<float>> embedded = await embedder.Text.GenerateAsync(indexes.Select(i => prompts[i]).ToArray(),
                generationOptions, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _misses, indexes.Length);
            lock (_gate)
            {
                for (int k = 0; k < indexes.Length; k++)
                {
                    result[indexes[k]] = embedded[k];
                    Remember(prompts[indexes[k]], embedded[k]);
                }
            }
        }

        return new GeneratedEmbeddings<Embedding<float>>(result.Select(e => e!));
    }

    private void Remember(string prompt, Embedding<float> embedding)
    {
        if (options.PromptCacheEntries == 0 || _index.ContainsKey(prompt))
        {
            return;
        }

        _index[prompt] = _lru.AddFirst((prompt, embedding));
        while (_lru.Count > options.PromptCacheEntries)
        {
            _index.Remove(_lru.Last!.Value.Prompt);
            _lru.RemoveLast();
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : embedder.Text.GetService(serviceType, serviceKey);

    public void Dispose()
    {
    }
}
