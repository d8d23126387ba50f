namespace Omnivec.Index;

/// <summary>
/// One collection of items with one unit vector each, in one embedding space: what the indexer, the CLI and the
/// server work with, whichever store holds it (the embedded <see cref="Collection"/>, or PostgreSQL with pgvector).
/// Implementations are safe for concurrent searches; writes are atomic per call (all items committed or none).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "Collection is the domain term used by the CLI and docs (omnivec collections).")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "Get(id) is the established member of Collection; implementations are C#.")]
public interface IVectorCollection : IDisposable
{
    /// <summary>The collection's name (unique within its store).</summary>
    string Name { get; }

    /// <summary>The embedding space (provider, model, revision, dimensions) whose vectors this collection holds.</summary>
    EmbeddingSpace Space { get; }

    /// <summary>Number of items committed, including other processes' writes.</summary>
    long Count { get; }

    /// <summary>Item count from which <see cref="SearchMode.Auto"/> may use the approximate (HNSW) index.</summary>
    int ApproximateThreshold { get; set; }

    /// <summary>HNSW search expansion (ef) for approximate searches that do not pass their own; 1 to 4096.</summary>
    int SearchExpansion { get; set; }

    /// <summary>HNSW construction expansion (ef_construction) for indexes built from now on; 1 to 4096.</summary>
    int BuildExpansion { get; set; }

    /// <summary>
    /// Inserts or replaces (by path) items with their vectors in one transaction: all are committed or none.
    /// Vectors must have <see cref="EmbeddingSpace.Dimensions"/> finite, not-all-zero values; they are stored normalised.
    /// Cancellation is honoured until the commit starts.
    /// </summary>
    /// <returns>The id of each item, in input order.</returns>
    IReadOnlyList<long> Upsert(IReadOnlyList<CollectionItem> items, IReadOnlyList<ReadOnlyMemory<float>> vectors, CancellationToken cancellationToken = default);

    /// <summary>Deletes an item; false when no item has that id.</summary>
    bool Delete(long id);

    /// <summary>Deletes the items with these paths (missing paths are ignored) in one transaction; returns how many were deleted.</summary>
    int DeleteByPaths(IEnumerable<string> paths, CancellationToken cancellationToken = default);

    /// <summary>The item with this id, or null.</summary>
    CollectionItem? Get(long id);

    /// <summary>The item with this path (compared ordinally), or null.</summary>
    CollectionItem? FindByPath(string path);

    /// <summary>
    /// Streams items (without vectors) in ordinal path order, optionally only under <paramref name="pathPrefix"/>:
    /// what an incremental indexer compares against the file system. Dispose the enumerator (foreach does).
    /// </summary>
    IEnumerable<CollectionItem> Items(string? pathPrefix = null);

    /// <summary>
    /// Streams items with their stored (unit-norm) vectors in ascending id order, starting after
    /// <paramref name="afterId"/>: what copying a collection to another store reads, resumable by id.
    /// </summary>
    IEnumerable<(CollectionItem Item, float[] Vector)> ItemsWithVectors(long afterId = 0);

    /// <summary>The stored (unit-norm) vector of an item, or null when no item has that id.</summary>
    float[]? GetVector(long id);

    /// <summary>
    /// The stored (unit-norm) vectors of several items, in the order of <paramref name="ids"/> (null for an id no item
    /// has): what scoring a list of candidates reads. A store with its vectors in memory answers without a lookup each.
    /// </summary>
    IReadOnlyList<float[]?> GetVectors(IReadOnlyList<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var vectors = new float[]?[ids.Count];
        for (int i = 0; i < vectors.Length; i++)
        {
            vectors[i] = GetVector(ids[i]);
        }

        return vectors;
    }

    /// <summary>Top <paramref name="top"/> items by cosine similarity to <paramref name="query"/>, best first, filtered during the search.</summary>
    /// <param name="query">The query vector (any length; it is normalised).</param>
    /// <param name="top">How many hits, 1 to <see cref="Collection.MaxTop"/>.</param>
    /// <param name="filter">Only items that pass it are returned.</param>
    /// <param name="mode">Exact scan, HNSW graph, or the graph once the collection is large and optimised.</param>
    /// <param name="expansion">HNSW search expansion (ef) for this call; <see cref="SearchExpansion"/> when null.</param>
    IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> query, int top = 10, SearchFilter? filter = null, SearchMode mode = SearchMode.Auto, int? expansion = null);

    /// <summary>
    /// The hits of <see cref="Search"/> as ids and scores only, in the same order with the same scores, without reading
    /// the items' records: what ranking many candidates of which few are shown needs (the relevance cutoff looks at
    /// thousands of scores; <see cref="GetItems"/> then reads the records of those kept).
    /// </summary>
    IReadOnlyList<ScoredId> SearchScores(ReadOnlySpan<float> query, int top = 10, SearchFilter? filter = null, SearchMode mode = SearchMode.Auto, int? expansion = null)
    {
        IReadOnlyList<SearchHit> hits = Search(query, top, filter, mode, expansion);
        var scores = new ScoredId[hits.Count];
        for (int i = 0; i < scores.Length; i++)
        {
            scores[i] = new ScoredId(hits[i].Item.Id, hits[i].Score);
        }

        return scores;
    }

    /// <summary>
    /// The items of several ids, in the order of <paramref name="ids"/> (null for an id no item has), read together.
    /// </summary>
    IReadOnlyList<CollectionItem?> GetItems(IReadOnlyList<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var items = new CollectionItem?[ids.Count];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = Get(ids[i]);
        }

        return items;
    }

    /// <summary>Several queries at once, each answered as by <see cref="Search"/>.</summary>
    IReadOnlyList<IReadOnlyList<SearchHit>> SearchBatch(IReadOnlyList<ReadOnlyMemory<float>> queries, int top = 10, SearchFilter? filter = null,
        SearchMode mode = SearchMode.Auto, int? expansion = null);

    /// <summary>
    /// Items whose file name, folder, camera make/model or caption contain words of <paramref name="text"/> (the
    /// lexical index): first those that contain every word, then those that contain some, each group by relevance.
    /// Words are split at anything that is not a letter or digit (<c>IMG_0042.jpg</c> is found by <c>img_0042</c>,
    /// <c>IMG_0042</c> or <c>0042</c>), compared without case and diacritics, and the last part of a word also matches
    /// as a prefix. Query syntax of the underlying engine has no meaning here: any text is safe to pass.
    /// </summary>
    /// <param name="text">What to look for, as a person typed it.</param>
    /// <param name="top">How many hits, 1 to <see cref="Collection.MaxTop"/>.</param>
    /// <param name="filter">Only items that pass it are returned.</param>
    IReadOnlyList<TextHit> SearchText(string text, int top = 10, SearchFilter? filter = null);

    /// <summary>
    /// The hits of <see cref="SearchText"/> as ids, relevances and whether they match every word, in the same order,
    /// without reading the items' records. With <paramref name="allWordsOnly"/>, only the first group (the items that
    /// contain every word), exactly as <see cref="SearchText"/> lists them before the rest.
    /// </summary>
    IReadOnlyList<TextScore> SearchTextScores(string text, int top = 10, SearchFilter? filter = null, bool allWordsOnly = false)
    {
        IReadOnlyList<TextHit> hits = SearchText(text, top, filter);
        var scores = new List<TextScore>(hits.Count);
        foreach (TextHit hit in hits)
        {
            if (allWordsOnly && !hit.MatchesAllWords)
            {
                break;
            }

            scores.Add(new TextScore(hit.Item.Id, hit.Relevance, hit.MatchesAllWords));
        }

        return scores;
    }

    /// <summary>
    /// Groups of near-identical items (cosine ≥ <paramref name="threshold"/>, linked transitively), each ordered
    /// best quality first: most pixels, then largest file. Member scores are similarities to that first member.
    /// Groups come largest first.
    /// </summary>
    IReadOnlyList<DuplicateGroup> FindDuplicates(float threshold = 0.95f, SearchFilter? filter = null, CancellationToken cancellationToken = default);

    /// <summary>Small key/value store for the indexer's resume bookkeeping (committed immediately).</summary>
    void SetIndexState(string key, string value);

    /// <summary>A value stored by <see cref="SetIndexState"/>, or null.</summary>
    string? GetIndexState(string key);

    /// <summary>Builds what makes later searches and cold starts fast (the approximate index); call after a bulk index run.</summary>
    void Optimize(CancellationToken cancellationToken = default);

    /// <summary>
    /// Loads now what the first search would otherwise load (an embedded collection's vectors), so that a caller can
    /// overlap it with other start-up work such as loading the model. Searching without it is just as correct; stores
    /// that keep nothing in memory do nothing.
    /// </summary>
    void Preload(CancellationToken cancellationToken = default)
    {
    }
}

/// <summary>
/// Where collections live: a folder of embedded collections (<see cref="CollectionStore"/>) or a PostgreSQL database.
/// </summary>
public interface IVectorStore
{
    /// <summary>Where the store is, for messages: a folder, or a connection URI without its password.</summary>
    string Location { get; }

    /// <summary>Every collection in the store, by name.</summary>
    IReadOnlyList<CollectionInfo> List();

    /// <summary>Whether a collection of that name exists.</summary>
    bool Exists(string name);

    /// <summary>Opens an existing collection; throws <see cref="CollectionNotFoundException"/> when there is none.</summary>
    IVectorCollection Open(string name);

    /// <summary>
    /// Opens the collection, creating it for <paramref name="space"/> if absent. An existing collection of another
    /// space is refused with <see cref="EmbeddingSpaceMismatchException"/> (its vectors are not comparable).
    /// </summary>
    IVectorCollection OpenOrCreate(string name, EmbeddingSpace space);

    /// <summary>Deletes a collection and everything in it; false when it does not exist.</summary>
    bool Delete(string name);
}
