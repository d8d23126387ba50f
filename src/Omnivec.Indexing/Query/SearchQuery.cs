using System.Globalization;
using System.Numerics.Tensors;
using Omnivec.Index;

namespace Omnivec.Indexing.Query;

/// <summary>What one term of a <see cref="SearchQuery"/> is made of.</summary>
public enum QueryTermKind
{
    /// <summary>A description in words.</summary>
    Text,

    /// <summary>An image (encoded bytes in any supported format).</summary>
    Image,

    /// <summary>An item already in the collection, by id or path; its stored vector is used, no model run.</summary>
    Item,

    /// <summary>A recording (encoded bytes in any format FFmpeg reads), for collections of an audio model (CLAP).</summary>
    Audio,
}

/// <summary>One weighted term of a query. Create terms with <see cref="ForText"/>, <see cref="ForImage"/>, <see cref="ForAudio"/>, <see cref="ForItem(long, float, string?)"/> or <see cref="Parse"/>.</summary>
public sealed record QueryTerm
{
    private QueryTerm(QueryTermKind kind, float weight, string label)
    {
        if (!float.IsFinite(weight))
        {
            throw new InvalidInputException($"Query term {label}: the weight must be a finite number.");
        }

        Kind = kind;
        Weight = weight;
        Label = label;
    }

    /// <summary>The kind of term.</summary>
    public QueryTermKind Kind { get; }

    /// <summary>The multiplier of the term's unit vector; negative means "less like this".</summary>
    public float Weight { get; }

    /// <summary>How errors and summaries name the term, e.g. <c>-1 × "people"</c>.</summary>
    public string Label { get; }

    /// <summary>The words, for <see cref="QueryTermKind.Text"/>.</summary>
    public string? Text { get; private init; }

    /// <summary>The encoded image, for <see cref="QueryTermKind.Image"/>.</summary>
    public ReadOnlyMemory<byte> Image { get; private init; }

    /// <summary>The image's name (a file name or "upload"), for <see cref="QueryTermKind.Image"/>.</summary>
    public string? ImageName { get; private init; }

    /// <summary>The encoded recording, for <see cref="QueryTermKind.Audio"/>.</summary>
    public ReadOnlyMemory<byte> Audio { get; private init; }

    /// <summary>The recording's name (a file name or "upload"), for <see cref="QueryTermKind.Audio"/>.</summary>
    public string? AudioName { get; private init; }

    /// <summary>The item's id, for <see cref="QueryTermKind.Item"/> terms given by id.</summary>
    public long? ItemId { get; private init; }

    /// <summary>The item's path, for <see cref="QueryTermKind.Item"/> terms given by path.</summary>
    public string? ItemPath { get; private init; }

    /// <summary>A text term.</summary>
    /// <exception cref="InvalidInputException">Empty text or a weight that is not finite.</exception>
    public static QueryTerm ForText(string text, float weight = 1f)
    {
        ArgumentNullException.ThrowIfNull(text);
        string label = Describe(weight, "\"" + Shorten(text) + "\"");
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InvalidInputException($"Query term {label}: the text is empty.");
        }

        return new QueryTerm(QueryTermKind.Text, weight, label) { Text = text };
    }

    /// <summary>An image term; <paramref name="name"/> names it in errors (a file name, "upload", …).</summary>
    /// <exception cref="InvalidInputException">No bytes or a weight that is not finite.</exception>
    public static QueryTerm ForImage(ReadOnlyMemory<byte> image, string name, float weight = 1f)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        string label = Describe(weight, "image " + ShortenPath(name));
        if (image.IsEmpty)
        {
            throw new InvalidInputException($"Query term {label}: the image is empty.");
        }

        return new QueryTerm(QueryTermKind.Image, weight, label) { Image = image, ImageName = name };
    }

    /// <summary>A recording term (embedded by the collection's audio model); <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="InvalidInputException">No bytes or a weight that is not finite.</exception>
    public static QueryTerm ForAudio(ReadOnlyMemory<byte> audio, string name, float weight = 1f)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        string label = Describe(weight, "audio " + ShortenPath(name));
        if (audio.IsEmpty)
        {
            throw new InvalidInputException($"Query term {label}: the recording is empty.");
        }

        return new QueryTerm(QueryTermKind.Audio, weight, label) { Audio = audio, AudioName = name };
    }

    /// <summary>A term for the indexed item with this id.</summary>
    public static QueryTerm ForItem(long id, float weight = 1f, string? label = null) =>
        new(QueryTermKind.Item, weight, label ?? Describe(weight, "item " + id.ToString(CultureInfo.InvariantCulture))) { ItemId = id };

    /// <summary>A term for the indexed item with this path (compared as stored: pass a full path).</summary>
    public static QueryTerm ForItem(string path, float weight = 1f)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new QueryTerm(QueryTermKind.Item, weight, Describe(weight, "item " + ShortenPath(path))) { ItemPath = path };
    }

    /// <summary>
    /// Parses the command-line form <c>[WEIGHT:]text</c>, <c>[WEIGHT:]image:PATH</c>, <c>[WEIGHT:]audio:PATH</c>,
    /// <c>[WEIGHT:]item:PATH_OR_ID</c> or <c>[WEIGHT:]text:WORDS</c> (for words that contain a colon). The weight defaults
    /// to 1 and is multiplied by <paramref name="sign"/> (-1 for <c>--minus</c>). Image and audio files are read here; item
    /// paths are made absolute; a leading <c>~/</c> means the home folder.
    /// </summary>
    /// <exception cref="InvalidInputException">A weight that is not a number, an unknown kind, an empty term, an image file that cannot be read.</exception>
    public static QueryTerm Parse(string spec, float sign = 1f)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string rest = spec;
        float weight = 1f;
        int colon = rest.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && TryParseWeight(rest[..colon], out float w))
        {
            weight = w;
            rest = rest[(colon + 1)..];
            colon = rest.IndexOf(':', StringComparison.Ordinal);
        }
        else if (colon > 0 && KindOf(rest[(colon + 1)..]) is not null)
        {
            // "x:image:a.jpg": something stands where the weight goes
            throw new InvalidInputException($"Query term '{spec}': the weight '{rest[..colon]}' is not a number.");
        }

        if (!float.IsFinite(weight * sign))
        {
            throw new InvalidInputException($"Query term '{spec}': the weight must be a finite number.");
        }

        weight *= sign;
        if (colon > 0 && KindOf(rest) is { } kind)
        {
            string value = rest[(colon + 1)..];
            if (value.Length == 0)
            {
                throw new InvalidInputException($"Query term '{spec}': nothing after '{rest[..(colon + 1)]}'.");
            }

            switch (kind)
            {
                case QueryTermKind.Text:
                    return ForText(value, weight);
                case QueryTermKind.Image:
                    return ForImage(ReadFile(spec, value, "image"), value, weight);
                case QueryTermKind.Audio:
                    return ForAudio(ReadFile(spec, value, "audio"), value, weight);
                default:
                    return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long id)
                        ? ForItem(id, weight, Describe(weight, "item " + value))
                        : ForItem(Path.GetFullPath(ExpandHome(value)), weight);
            }
        }

        if (colon > 0 && IsKindLike(rest[..colon]) && colon + 1 < rest.Length && rest[colon + 1] != ' ')
        {
            throw new InvalidInputException(
                $"Query term '{spec}': unknown kind '{rest[..colon]}'; use text:WORDS, image:PATH, audio:PATH or item:PATH_OR_ID (or put a space after the colon for plain words).");
        }

        return ForText(rest, weight);
    }

    private static byte[] ReadFile(string spec, string value, string what)
    {
        try
        {
            return File.ReadAllBytes(ExpandHome(value));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InvalidInputException($"Query term '{spec}': cannot read the {what} file: {e.Message}", e);
        }
    }

    private static QueryTermKind? KindOf(string rest)
    {
        int colon = rest.IndexOf(':', StringComparison.Ordinal);
        return colon <= 0 ? null : rest[..colon].ToLowerInvariant() switch
        {
            "text" => QueryTermKind.Text,
            "image" or "img" => QueryTermKind.Image,
            "item" => QueryTermKind.Item,
            "audio" or "sound" => QueryTermKind.Audio,
            _ => null,
        };
    }

    private static bool IsKindLike(string word) => word.Length <= 16 && word.All(char.IsAsciiLetter);

    private static bool TryParseWeight(string text, out float weight) =>
        float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out weight) && text.Trim().Length > 0;

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..]
            : path;

    private static string Shorten(string text) => text.Length > 60 ? text[..60] + "…" : text;

    /// <summary>Paths keep their end (the file name) when shortened.</summary>
    private static string ShortenPath(string path) => path.Length > 80 ? "…" + path[^79..] : path;

    private static string Describe(float weight, string what) =>
        weight == 1f ? what : weight == -1f ? "-" + what : weight.ToString("0.###", CultureInfo.InvariantCulture) + " × " + what;
}

/// <summary>
/// A query as a weighted sum of terms: each term's embedding is L2-normalised and multiplied by its weight, and the
/// sum is normalised again before searching. One term of weight 1 is a plain search.
/// </summary>
public sealed class SearchQuery
{
    /// <summary>Most terms in one query.</summary>
    public const int MaxTerms = 64;

    /// <summary>A query of these terms (at least one, at most <see cref="MaxTerms"/>).</summary>
    /// <exception cref="InvalidInputException">No terms or too many.</exception>
    public SearchQuery(IEnumerable<QueryTerm> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        Terms = [.. terms];
        if (Terms.Count == 0)
        {
            throw new InvalidInputException("A query needs at least one term (text, image, audio or item).");
        }

        if (Terms.Count > MaxTerms)
        {
            throw new InvalidInputException($"A query has at most {MaxTerms} terms; got {Terms.Count}.");
        }
    }

    /// <summary>The terms, in the order given.</summary>
    public IReadOnlyList<QueryTerm> Terms { get; }

    /// <summary>The words of the positive text terms, for the lexical index; null when there are none.</summary>
    public string? Words
    {
        get
        {
            string[] texts = [.. Terms.Where(t => t.Kind == QueryTermKind.Text && t.Weight > 0).Select(t => t.Text!)];
            return texts.Length == 0 ? null : string.Join(' ', texts);
        }
    }

    /// <summary>A one-line summary, e.g. <c>"a beach" - "people" + 0.5 × image ref.jpg</c>.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        foreach (QueryTerm t in Terms)
        {
            string label = t.Weight < 0 ? t.Label.TrimStart('-') : t.Label;
            parts.Add(parts.Count == 0 ? (t.Weight < 0 ? "- " + label : label) : (t.Weight < 0 ? "- " : "+ ") + label);
        }

        return string.Join(' ', parts);
    }

    /// <summary>
    /// The query vector: normalise(Σ wᵢ · normalise(eᵢ)). Text terms are embedded through <paramref name="embedText"/>,
    /// image and audio terms through <paramref name="embedImage"/> (which gets the term: its <see cref="QueryTerm.Kind"/>
    /// says which), item terms read their stored vectors from <paramref name="collection"/>.
    /// </summary>
    /// <exception cref="InvalidInputException">A term cannot be embedded (naming it), an item does not exist, or the terms cancel out.</exception>
    public async Task<ComposedQuery> ComposeAsync(IVectorCollection collection, Func<string, CancellationToken, Task<float[]>> embedText,
        Func<QueryTerm, CancellationToken, Task<float[]>> embedImage, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(embedText);
        ArgumentNullException.ThrowIfNull(embedImage);
        int dims = collection.Space.Dimensions;
        float[] sum = new float[dims];
        var examples = new List<long>();
        var avoided = new List<long>();
        foreach (QueryTerm term in Terms)
        {
            cancellationToken.ThrowIfCancellationRequested();
            float[] vector;
            try
            {
                vector = term.Kind switch
                {
                    QueryTermKind.Text => await embedText(term.Text!, cancellationToken).ConfigureAwait(false),
                    QueryTermKind.Image or QueryTermKind.Audio => await embedImage(term, cancellationToken).ConfigureAwait(false),
                    _ => ItemVector(collection, term, examples, avoided),
                };
            }
            catch (OmnivecException e) when (!e.Message.StartsWith("Query term ", StringComparison.Ordinal) && e is not EmbeddingSpaceMismatchException)
            {
                throw new InvalidInputException($"Query term {term.Label}: {e.Message}", e);
            }

            if (vector.Length != dims)
            {
                throw new InvalidInputException($"Query term {term.Label}: got a {vector.Length}-dimensional vector; the collection holds {dims}-dimensional ones.");
            }

            float norm = TensorPrimitives.Norm(vector);
            if (!(norm > 0f) || !float.IsFinite(norm))
            {
                throw new InvalidInputException($"Query term {term.Label}: its embedding is zero or not finite.");
            }

            TensorPrimitives.MultiplyAdd(vector, term.Weight / norm, sum, sum);
        }

        float total = TensorPrimitives.Norm(sum);
        float scale = Terms.Sum(t => Math.Abs(t.Weight));
        // Relative test: "dog" minus "dog" leaves rounding noise, not a direction.
        if (!(total > 1e-4f * Math.Max(scale, 1e-30f)) || !float.IsFinite(total))
        {
            throw new InvalidInputException($"The query terms cancel out ({this}): their weighted sum is zero, so there is nothing to search for.");
        }

        TensorPrimitives.Divide(sum, total, sum);
        return new ComposedQuery(sum, examples)
        {
            Words = Words,
            AvoidedItemIds = avoided,
            AvoidedWords = [.. Terms.Where(t => t.Kind == QueryTermKind.Text && t.Weight < 0).Select(t => t.Text!)],
        };
    }

    private static float[] ItemVector(IVectorCollection collection, QueryTerm term, List<long> examples, List<long> avoided)
    {
        CollectionItem? item = term.ItemId is long id ? collection.Get(id) : VideoSegmentItems.Resolve(collection, term.ItemPath!);
        float[]? vector = item is null ? null : collection.GetVector(item.Id);
        if (item is null || vector is null)
        {
            throw new InvalidInputException($"Query term {term.Label}: no such item in collection '{collection.Name}'.");
        }

        if (term.Weight > 0)
        {
            examples.Add(item.Id);
        }
        else if (term.Weight < 0)
        {
            avoided.Add(item.Id);
        }

        return vector;
    }
}

/// <summary>A query's unit vector, and the items it was given as positive examples (left out of its results, as <c>similar</c> does).</summary>
public sealed record ComposedQuery(float[] Vector, IReadOnlyList<long> ExampleItemIds)
{
    /// <summary>
    /// What the lexical index looks for (file names, folders, cameras, captions): the words of the query's positive
    /// text terms; null when it has none (an image, audio or item query), which makes a hybrid search a vector search.
    /// </summary>
    public string? Words { get; init; }

    /// <summary>Items given with a negative weight ("less like this"): a name match does not lift them in a hybrid search.</summary>
    public IReadOnlyList<long> AvoidedItemIds { get; init; } = [];

    /// <summary>
    /// The texts of the negative text terms (<c>--minus people</c>). Besides pulling the query's vector away, each one
    /// leaves out, in hybrid and text searches, the items whose file name, folder, camera or caption contains all of its
    /// words: a typed "not" is kept out by name as well as by meaning. Vector searches use the vector only.
    /// </summary>
    public IReadOnlyList<string> AvoidedWords { get; init; } = [];
}
