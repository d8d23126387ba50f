using Omnivec.Index;

namespace Omnivec.Indexing.Query;

/// <summary>The order results are shown in, applied to what passes the relevance cutoff.</summary>
public enum ResultOrder
{
    /// <summary>Best match first (the default).</summary>
    Score,

    /// <summary>Oldest first, by capture time, else file modification time.</summary>
    Date,

    /// <summary>Newest first, by capture time, else file modification time.</summary>
    DateDescending,

    /// <summary>By path, ordinally.</summary>
    Path,
}

/// <summary>How a composed query is run: how many results, which, in what order, and which are relevant enough to show.</summary>
public sealed record RankedSearchOptions
{
    /// <summary>Most results to return (1 to <see cref="Collection.MaxTop"/>).</summary>
    public int Top { get; init; } = 10;

    /// <summary>Only items that pass it.</summary>
    public SearchFilter? Filter { get; init; }

    /// <summary>Exact scan or HNSW graph; the cutoff itself always scans exactly.</summary>
    public SearchMode Mode { get; init; } = SearchMode.Auto;

    /// <summary>HNSW search expansion for this call.</summary>
    public int? Expansion { get; init; }

    /// <summary>Absolute floor on the cosine score; null for none.</summary>
    public float? MinScore { get; init; }

    /// <summary>Keep only results that stand out from the query's score distribution (see <see cref="RelevanceCutoff"/>). On by default.</summary>
    public bool AutomaticCutoff { get; init; } = true;

    /// <summary>The order of the results.</summary>
    public ResultOrder Order { get; init; } = ResultOrder.Score;

    /// <summary>At most this many segments of each video (1: the best moment of each); null keeps them all.</summary>
    public int? PerVideo { get; init; }

    /// <summary>
    /// Reads an order as people type it: <c>score</c>, <c>date</c> (oldest first; also <c>oldest</c>, <c>+date</c>),
    /// <c>-date</c> (newest first; also <c>newest</c>) or <c>path</c> (also <c>name</c>). <paramref name="name"/> names
    /// the option or field in the error (<c>--sort</c>, <c>sort</c>).
    /// </summary>
    /// <exception cref="InvalidInputException">Any other value.</exception>
    public static ResultOrder ParseOrder(string value, string name = "sort")
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToLowerInvariant() switch
        {
            "score" or "relevance" => ResultOrder.Score,
            "date" or "oldest" or "+date" => ResultOrder.Date,
            "-date" or "newest" => ResultOrder.DateDescending,
            "path" or "name" => ResultOrder.Path,
            _ => throw new InvalidInputException($"{name} must be score, date, -date (or newest) or path; got '{(value.Length > 40 ? value[..40] + "…" : value)}'."),
        };
    }
}

/// <summary>What a ranked search found: the hits, and which threshold decided it (so "no match" can be explained).</summary>
/// <param name="Hits">The results, in the requested order.</param>
/// <param name="Threshold">The score a result needed (automatic or --min-score, whichever is higher); null when nothing was cut.</param>
/// <param name="Cutoff">How the automatic threshold came about, when one was used.</param>
/// <param name="Passed">How many items passed the threshold (can exceed <see cref="Hits"/>' count).</param>
public sealed record RankedSearchResult(IReadOnlyList<SearchHit> Hits, float? Threshold, RelevanceCutoff? Cutoff, int Passed)
{
    /// <summary>True when a cutoff was applied and nothing passed it: say "no match" rather than show the nearest noise.</summary>
    public bool NoMatch => Threshold is not null && Passed == 0;
}

/// <summary>Runs a composed query against a collection with the relevance cutoff and ordering: what the CLI, server and MCP tools share.</summary>
public static class RankedSearch
{
    /// <summary>Searches <paramref name="collection"/> for <paramref name="query"/>.</summary>
    public static RankedSearchResult Run(IVectorCollection collection, ComposedQuery query, RankedSearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Top < 1 || options.Top > Collection.MaxTop)
        {
            throw new InvalidInputException($"top must be between 1 and {Collection.MaxTop}; got {options.Top}.");
        }

        if (options.MinScore is float min && !(min >= -1f && min <= 1f))
        {
            throw new InvalidInputException($"min_score is a cosine similarity between -1 and 1; got {min}.");
        }

        if (options.PerVideo is int perVideo && perVideo < 1)
        {
            throw new InvalidInputException($"per_video must be at least 1; got {perVideo}.");
        }

        var exclude = new HashSet<long>(query.ExampleItemIds);
        if (!options.AutomaticCutoff && options.MinScore is null)
        {
            // Segments of one video crowd each other out under --per-video: ask for more, keep the best of each.
            int fetch = options.PerVideo is int n ? options.Top * Math.Max(4, 8 / n) : options.Top;
            IReadOnlyList<SearchHit> found = collection.Search(query.Vector, Math.Min(fetch + exclude.Count, Collection.MaxTop),
                options.Filter, options.Mode, options.Expansion);
            return new RankedSearchResult(Order([.. LimitPerVideo(found.Where(h => !exclude.Contains(h.Item.Id)), options.PerVideo).Take(options.Top)], options.Order), null, null, 0);
        }

        // The cutoff looks at the query's scores over the whole (filtered) collection, which one exact scan yields.
        long count = collection.Count;
        int depth = (int)Math.Clamp(count, 1, Collection.MaxTop);
        List<SearchHit> ranked = [.. collection.Search(query.Vector, depth, options.Filter, SearchMode.Exact).Where(h => !exclude.Contains(h.Item.Id))];
        long population = ranked.Count < depth - exclude.Count ? ranked.Count : Math.Max(ranked.Count, count - exclude.Count);
        RelevanceCutoff? cutoff = options.AutomaticCutoff ? RelevanceCutoff.Estimate(ranked.Select(h => h.Score).ToArray(), population) : null;
        float threshold = Math.Max(options.MinScore ?? float.NegativeInfinity, cutoff?.Threshold ?? float.NegativeInfinity);
        if (float.IsNegativeInfinity(threshold))
        {
            // Too few items to tell what stands out, and no floor given: nothing is cut.
            List<SearchHit> all = [.. LimitPerVideo(ranked, options.PerVideo)];
            return new RankedSearchResult(Order([.. all.Take(options.Top)], options.Order), null, cutoff, all.Count);
        }

        List<SearchHit> passing = [.. LimitPerVideo(ranked.TakeWhile(h => h.Score >= threshold), options.PerVideo)];
        IReadOnlyList<SearchHit> shown = options.Order == ResultOrder.Score ? passing.Take(options.Top).ToArray() : Order(passing, options.Order).Take(options.Top).ToArray();
        return new RankedSearchResult(shown, threshold, cutoff, passing.Count);
    }

    private static List<SearchHit> Order(List<SearchHit> hits, ResultOrder order) => order switch
    {
        ResultOrder.Date => [.. hits.OrderBy(h => h.Item.TakenAt ?? h.Item.ModifiedUtc).ThenBy(h => h.Item.Path, StringComparer.Ordinal)],
        ResultOrder.DateDescending => [.. hits.OrderByDescending(h => h.Item.TakenAt ?? h.Item.ModifiedUtc).ThenBy(h => h.Item.Path, StringComparer.Ordinal)],
        ResultOrder.Path => [.. hits.OrderBy(h => VideoSegmentItems.TryGetSegment(h.Item, out string file, out _, out _) ? file : h.Item.Path, StringComparer.Ordinal)
            .ThenBy(h => VideoSegmentItems.TryGetSegment(h.Item, out _, out double start, out _) ? start : 0)],
        _ => hits,
    };

    private static IEnumerable<SearchHit> LimitPerVideo(IEnumerable<SearchHit> hits, int? perVideo) =>
        perVideo is int n ? VideoSegmentItems.LimitPerVideo(hits, n) : hits;
}
