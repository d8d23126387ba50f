namespace Omnivec.Index;

/// <summary>One indexed file (or other media) and what the indexer knows about it. <see cref="Id"/> is assigned by the store.</summary>
public sealed record CollectionItem
{
    /// <summary>Store-assigned id; stable for a path across upserts. Ignored on input.</summary>
    public long Id { get; init; }

    /// <summary>Unique key of the item, usually an absolute file path. Compared ordinally.</summary>
    public required string Path { get; init; }

    /// <summary>MIME type, e.g. "image/jpeg" or "text/plain".</summary>
    public string MediaType { get; init; } = "application/octet-stream";

    /// <summary>File size in bytes; 0 when unknown.</summary>
    public long SizeBytes { get; init; }

    /// <summary>File modification time; stored as UTC ticks so incremental indexing can compare exactly.</summary>
    public DateTimeOffset ModifiedUtc { get; init; }

    /// <summary>Content hash chosen by the indexer (e.g. hex SHA-256); empty when unknown.</summary>
    public string ContentHash { get; init; } = "";

    /// <summary>Pixel width; 0 for non-images.</summary>
    public int Width { get; init; }

    /// <summary>Pixel height; 0 for non-images.</summary>
    public int Height { get; init; }

    /// <summary>Capture time from EXIF when known (offset preserved).</summary>
    public DateTimeOffset? TakenAt { get; init; }

    /// <summary>Camera make and model from EXIF, when known.</summary>
    public string? Camera { get; init; }

    /// <summary>A caption or description from the file's metadata, when it has one.</summary>
    public string? Caption { get; init; }

    /// <summary>Free-form extra metadata, stored as JSON.</summary>
    public IReadOnlyDictionary<string, string>? Extra { get; init; }
}

/// <summary>Restricts a search to items matching every set property. Filters are applied inside the scan, before top-k.</summary>
public sealed record SearchFilter
{
    /// <summary>Ordinal prefix of <see cref="CollectionItem.Path"/>.</summary>
    public string? PathPrefix { get; init; }

    /// <summary>Inclusive lower bound on <c>TakenAt ?? ModifiedUtc</c>.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Inclusive upper bound on <c>TakenAt ?? ModifiedUtc</c>.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Prefix of the media type, case-insensitive: "image/" or "image/png".</summary>
    public string? MediaType { get; init; }

    /// <summary>Only items at least this many pixels wide.</summary>
    public int? MinWidth { get; init; }

    /// <summary>Only items at least this many pixels high.</summary>
    public int? MinHeight { get; init; }

    /// <summary>Only files of at least this many bytes.</summary>
    public long? MinSizeBytes { get; init; }

    internal bool IsEmpty =>
        PathPrefix is null && From is null && To is null && MediaType is null &&
        MinWidth is null && MinHeight is null && MinSizeBytes is null;

    internal bool Matches(CollectionItem item)
    {
        if (PathPrefix is not null && !item.Path.StartsWith(PathPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        if (From is not null || To is not null)
        {
            DateTimeOffset when = item.TakenAt ?? item.ModifiedUtc;
            if ((From is { } from && when < from) || (To is { } to && when > to))
            {
                return false;
            }
        }

        return (MediaType is null || item.MediaType.StartsWith(MediaType, StringComparison.OrdinalIgnoreCase))
            && (MinWidth is null || item.Width >= MinWidth)
            && (MinHeight is null || item.Height >= MinHeight)
            && (MinSizeBytes is null || item.SizeBytes >= MinSizeBytes);
    }
}

/// <summary>A search result; <see cref="Score"/> is the cosine similarity to the query (higher is closer).</summary>
public sealed record SearchHit(CollectionItem Item, float Score);

/// <summary>
/// A search result before its record is read (<see cref="IVectorCollection.SearchScores"/>): the item's id and its
/// cosine similarity to the query, as <see cref="SearchHit"/> would carry them.
/// </summary>
/// <param name="Id">The item's id.</param>
/// <param name="Score">The cosine similarity to the query (higher is closer).</param>
public readonly record struct ScoredId(long Id, float Score);

/// <summary>
/// A lexical result before its record is read (<see cref="IVectorCollection.SearchTextScores"/>): the item's id,
/// relevance and whether it contains every word, as <see cref="TextHit"/> would carry them.
/// </summary>
/// <param name="Id">The item's id.</param>
/// <param name="Relevance">The store's text relevance (higher is better), comparable only within one result list.</param>
/// <param name="MatchesAllWords">True when every word of the query occurs in the item's text.</param>
public readonly record struct TextScore(long Id, double Relevance, bool MatchesAllWords);

/// <summary>
/// A result of the lexical index (<see cref="IVectorCollection.SearchText"/>): an item whose file name, folder,
/// camera or caption contains words of the query.
/// </summary>
/// <param name="Item">The item.</param>
/// <param name="Relevance">The store's text relevance (higher is better; BM25 in the embedded store, ts_rank in PostgreSQL): comparable only within one result list.</param>
/// <param name="MatchesAllWords">True when every word of the query occurs in the item's text (as a phrase of its parts, the last part also as a prefix).</param>
public sealed record TextHit(CollectionItem Item, double Relevance, bool MatchesAllWords);

/// <summary>How <see cref="Collection.Search"/> finds neighbours.</summary>
public enum SearchMode
{
    /// <summary>Exact below <see cref="Collection.ApproximateThreshold"/> items, or while no up-to-date HNSW graph exists; approximate otherwise.</summary>
    Auto,

    /// <summary>Brute force over every (allowed) vector: always the true top-k.</summary>
    Exact,

    /// <summary>HNSW graph (built on first use if missing or stale); recall@10 ≈ 0.995 on CLIP-like data.</summary>
    Approximate,
}

/// <summary>Near-identical items; the best-quality member (most pixels, then largest file) first, scores relative to it.</summary>
public sealed record DuplicateGroup(IReadOnlyList<SearchHit> Members);

/// <summary>Summary of one collection for listings.</summary>
public sealed record CollectionInfo(
    string Name,
    EmbeddingSpace Space,
    long Count,
    long BytesOnDisk,
    DateTimeOffset CreatedUtc,
    DateTimeOffset UpdatedUtc);

/// <summary>No collection of that name exists under the store's root.</summary>
public sealed class CollectionNotFoundException : OmnivecException
{
    /// <summary>Creates the exception with a default message.</summary>
    public CollectionNotFoundException() { }
    /// <summary>Creates the exception with a message.</summary>
    public CollectionNotFoundException(string message) : base(message) { }
    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public CollectionNotFoundException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>Another process (or another open <see cref="Collection"/>) is writing to this collection.</summary>
public sealed class CollectionBusyException : OmnivecException
{
    /// <summary>Creates the exception with a default message.</summary>
    public CollectionBusyException() { }
    /// <summary>Creates the exception with a message.</summary>
    public CollectionBusyException(string message) : base(message) { }
    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public CollectionBusyException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// The store's folder or files cannot be used: the root is a file rather than a folder, a folder cannot be created,
/// or the database cannot be opened (permissions, a read-only or failing disk).
/// </summary>
public sealed class CollectionStoreException : OmnivecException
{
    /// <summary>Creates the exception with a default message.</summary>
    public CollectionStoreException() { }
    /// <summary>Creates the exception with a message.</summary>
    public CollectionStoreException(string message) : base(message) { }
    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public CollectionStoreException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The collection's files are damaged or were written by an incompatible version.</summary>
public sealed class CollectionCorruptException : OmnivecException
{
    /// <summary>Creates the exception with a default message.</summary>
    public CollectionCorruptException() { }
    /// <summary>Creates the exception with a message.</summary>
    public CollectionCorruptException(string message) : base(message) { }
    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public CollectionCorruptException(string message, Exception? innerException) : base(message, innerException) { }
}
