using Microsoft.Extensions.AI;
using Omnivec.Index;
using Omnivec.Indexing.Query;

namespace Omnivec.Indexing;

/// <summary>Searches one collection by text, by image or by an item already in it, with the embedder that made it.</summary>
public sealed class CollectionSearch
{
    private readonly IMultimodalEmbeddingGenerator _embedder;
    private readonly IVectorCollection _collection;

    /// <summary>Searches <paramref name="collection"/> with queries embedded by <paramref name="embedder"/> (which must produce the collection's space).</summary>
    public CollectionSearch(IMultimodalEmbeddingGenerator embedder, IVectorCollection collection)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        ArgumentNullException.ThrowIfNull(collection);
        // Vectors of another model would give confident nonsense; refuse with the reason.
        collection.Space.EnsureCompatibleWith(embedder.Space);
        _embedder = embedder;
        _collection = collection;
    }

    /// <summary>The collection searched.</summary>
    public IVectorCollection Collection => _collection;

    /// <summary>Items that best match a description ("a dog on the beach").</summary>
    public async Task<IReadOnlyList<SearchHit>> SearchTextAsync(string query, int top = 10, SearchFilter? filter = null, SearchMode mode = SearchMode.Auto,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        IEmbeddingGenerator<string, Embedding<float>> text = _embedder;
        Embedding<float> embedding = await text.GenerateAsync(query, cancellationToken: cancellationToken).ConfigureAwait(false);
        return _collection.Search(embedding.Vector.Span, top, filter, mode);
    }

    /// <summary>Items that look most like an image (bytes in any supported format).</summary>
    public async Task<IReadOnlyList<SearchHit>> SearchImageAsync(DataContent image, int top = 10, SearchFilter? filter = null, SearchMode mode = SearchMode.Auto,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        IEmbeddingGenerator<DataContent, Embedding<float>> images = _embedder;
        Embedding<float> embedding = await images.GenerateAsync(image, cancellationToken: cancellationToken).ConfigureAwait(false);
        return _collection.Search(embedding.Vector.Span, top, filter, mode);
    }

    /// <summary>The unit vector of a query (a weighted sum of text, image, audio and item terms), embedded with this collection's model.</summary>
    /// <exception cref="InvalidInputException">A term that cannot be embedded or found (the message names it), or terms that cancel out.</exception>
    public Task<ComposedQuery> ComposeAsync(SearchQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return query.ComposeAsync(_collection,
            async (text, ct) => (await ((IEmbeddingGenerator<string, Embedding<float>>)_embedder).GenerateAsync(text, cancellationToken: ct).ConfigureAwait(false)).Vector.ToArray(),
            async (term, ct) => (await ((IEmbeddingGenerator<DataContent, Embedding<float>>)_embedder)
                .GenerateAsync(MediaOf(term), cancellationToken: ct).ConfigureAwait(false)).Vector.ToArray(),
            cancellationToken);
    }

    /// <summary>
    /// The bytes of an image or audio term for the model: a recording is always marked audio (its sniffed type, else a
    /// generic one), so an image model refuses it by its media type and an audio model reads it by its content; an image
    /// is left to the model to recognise.
    /// </summary>
    private static DataContent MediaOf(QueryTerm term) => term.Kind == QueryTermKind.Audio
        ? new DataContent(term.Audio, Omnivec.Media.AudioSniffer.SniffMediaType(term.Audio.Span) ?? "audio/x-unknown") { Name = term.AudioName }
        : new DataContent(term.Image, "application/octet-stream") { Name = term.ImageName };

    /// <summary>Runs a query with the relevance cutoff and ordering of <paramref name="options"/>.</summary>
    /// <exception cref="InvalidInputException">A bad term (named in the message) or option.</exception>
    public async Task<RankedSearchResult> SearchAsync(SearchQuery query, RankedSearchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ComposedQuery composed = await ComposeAsync(query, cancellationToken).ConfigureAwait(false);
        return RankedSearch.Run(_collection, composed, options);
    }

    /// <summary>Items most like one already in the collection, the item itself left out. No model run needed.</summary>
    public IReadOnlyList<SearchHit> Similar(CollectionItem item, int top = 10, SearchFilter? filter = null, SearchMode mode = SearchMode.Auto)
    {
        ArgumentNullException.ThrowIfNull(item);
        float[] vector = _collection.GetVector(item.Id) ?? throw new InvalidInputException($"{item.Path} is no longer in collection '{_collection.Name}'.");
        return _collection.Search(vector, top + 1, filter, mode).Where(h => h.Item.Id != item.Id).Take(top).ToArray();
    }
}
