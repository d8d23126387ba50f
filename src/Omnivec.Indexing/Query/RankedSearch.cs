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

/// <summary>Which rankings a search uses: the embedding (vector), the lexical index (text), or both fused (hybrid).</summary>
public enum RetrievalMode
{
    /// <summary>
    /// Both, fused by reciprocal rank (<see cref="RankedSearch.FusionK"/>): items whose file name, folder, camera or
    /// caption contains every word of the query count as matches beside those that pass the vector cutoff. The default.
    /// </summary>
    Hybrid,

    /// <summary>The embedding only: cosine ranking and relevance cutoff, as before the lexical index existed.</summary>
    Vector,

    /// <summary>The lexical index only: items whose name, folder, camera or caption contain every word, by text relevance.</summary>
    Text,
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

    /// <summary>Vector, text (lexical) or hybrid retrieval; hybrid by default.</summary>
    public RetrievalMode Retrieval { get; init; } = RetrievalMode.Hybrid;

    /// <summary>
    /// Reads a retrieval mode: <c>hybrid</c>, <c>vector</c> or <c>text</c> (also <c>lexical</c>, <c>keyword</c>).
    /// <paramref name="name"/> names the option or field in the error (<c>--mode</c>, <c>mode</c>).
    /// </summary>
    /// <exception cref="InvalidInputException">Any other value.</exception>
    public static RetrievalMode ParseRetrieval(string value, string name = "mode")
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToLowerInvariant() switch
        {
            "hybrid" => RetrievalMode.Hybrid,
            "vector" or "semantic" => RetrievalMode.Vector,
            "text" or "lexical" or "keyword" => RetrievalMode.Text,
            _ => throw new InvalidInputException($"{name} must be hybrid, vector or text; got '{(value.Length > 40 ? value[..40] + "…" : value)}'."),
        };
    }

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
    /// <summary>The retrieval that produced the result (vector when a hybrid query had no words to look up).</summary>
    public RetrievalMode Retrieval { get; init; } = RetrievalMode.Vector;

    /// <summary>Ids of the results whose file name, folder, camera or caption contains every word of the query.</summary>
    public IReadOnlySet<long> TextMatches { get; init; } = new HashSet<long>();

    /// <summary>
    /// True when a cutoff was applied (or the search was by text only) and nothing passed: say "no match" rather than
    /// show the nearest noise.
    /// </summary>
    public bool NoMatch => (Threshold is not null || Retrieval == RetrievalMode.Text) && Passed == 0;
}

/// <summary>Runs a composed query against a collection with the relevance cutoff and ordering: what the CLI, server and MCP tools share.</summary>
public static class RankedSearch
{
    /// <summary>
    /// The constant of reciprocal rank fusion: an item's fused score is Σ 1 / (<c>FusionK</c> + rank) over the vector
    /// and the lexical ranking (ranks from 1). 60 is the value of Cormack, Clarke and Büttcher (2009), used by most
    /// hybrid search engines; it makes the first few ranks of either list count about the same.
    /// </summary>
    public const int FusionK = 60;

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
        bool hasWords = !string.IsNullOrWhiteSpace(query.Words);
        if (options.Retrieval == RetrievalMode.Text)
        {
            return hasWords
                ? RunText(collection, query, options, exclude)
                : throw new InvalidInputException("A text (lexical) search needs words to look for in file names, folders, cameras and captions; this query has none.");
        }

        if (options.Retrieval == RetrievalMode.Hybrid && hasWords)
        {
            return RunHybrid(collection, query, options, exclude);
        }

        // A hybrid query without positive words (an image minus "people") still leaves out what a "not" word names.
        bool byNames = options.Retrieval == RetrievalMode.Hybrid && query.AvoidedWords.Count > 0;
        if (!options.AutomaticCutoff && options.MinScore is null)
        {
            // Segments of one video crowd each other out under --per-video: ask for more, keep the best of each.
            int fetch = options.PerVideo is int n ? options.Top * Math.Max(4, 8 / n) : options.Top;
            IReadOnlyList<SearchHit> found = collection.Search(query.Vector, Math.Min(fetch + exclude.Count, Collection.MaxTop),
                options.Filter, options.Mode, options.Expansion);
            return new RankedSearchResult(Order([.. LimitPerVideo(found.Where(h => !exclude.Contains(h.Item.Id) && !(byNames && NamedByAvoidedWords(h.Item, query))), options.PerVideo).Take(options.Top)], options.Order), null, null, 0);
        }

        // The cutoff looks at the query's scores over the whole (filtered) collection, which one exact scan yields.
        long count = collection.Count;
        int depth = (int)Math.Clamp(count, 1, Collection.MaxTop);
        List<ScoredId> scored = [.. collection.SearchScores(query.Vector, depth, options.Filter, SearchMode.Exact).Where(h => !exclude.Contains(h.Id))];
        long population = scored.Count < depth - exclude.Count ? scored.Count : Math.Max(scored.Count, count - exclude.Count);
        RelevanceCutoff? cutoff = options.AutomaticCutoff ? RelevanceCutoff.Estimate(scored.Select(h => h.Score).ToArray(), population) : null;
        float threshold = Math.Max(options.MinScore ?? float.NegativeInfinity, cutoff?.Threshold ?? float.NegativeInfinity);
        // Only the records of what passes are read (the ranking is best first, so that is a prefix; leaving out the items a
        // "not" word names comes after the estimate and keeps the rest in order); without a threshold, all of them.
        List<SearchHit> ranked = WithItems(collection, scored, float.IsNegativeInfinity(threshold) ? scored.Count : CountAtLeast(scored, threshold));
        if (byNames)
        {
            ranked.RemoveAll(h => NamedByAvoidedWords(h.Item, query));
        }

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

    /// <summary>
    /// Hybrid: the vector ranking (with its cutoff, as in vector mode) and the lexical ranking fused by reciprocal rank.
    /// What passes: the items above the vector threshold, and the items whose text contains every word of the query
    /// (a file name typed exactly is a match, whatever its picture looks like).
    /// </summary>
    private static RankedSearchResult RunHybrid(IVectorCollection collection, ComposedQuery query, RankedSearchOptions options, HashSet<long> exclude)
    {
        bool cut = options.AutomaticCutoff || options.MinScore is not null;
        List<SearchHit> ranked;
        float threshold = float.NegativeInfinity;
        RelevanceCutoff? cutoff = null;
        int lexicalDepth;
        if (cut)
        {
            long count = collection.Count;
            int depth = (int)Math.Clamp(count, 1, Collection.MaxTop);
            List<ScoredId> scored = [.. collection.SearchScores(query.Vector, depth, options.Filter, SearchMode.Exact).Where(h => !exclude.Contains(h.Id))];
            long population = scored.Count < depth - exclude.Count ? scored.Count : Math.Max(scored.Count, count - exclude.Count);
            cutoff = options.AutomaticCutoff ? RelevanceCutoff.Estimate(scored.Select(h => h.Score).ToArray(), population) : null;
            threshold = Math.Max(options.MinScore ?? float.NegativeInfinity, cutoff?.Threshold ?? float.NegativeInfinity);
            // An item the exact ranking did not reach scores at most its last score. With the threshold clear above that
            // (by more than two summation orders of one dot product can differ), or with every item ranked, nothing
            // outside the ranking passes by its score: only a text match can, and the rest need no record and no cosine.
            bool rankedAllThatCanPass = count <= depth || (scored.Count > 0 && threshold > scored[^1].Score + RoundingMargin);
            if (!float.IsNegativeInfinity(threshold) && query.AvoidedWords.Count == 0 && rankedAllThatCanPass)
            {
                return RunHybridThresholded(collection, query, options, exclude, scored, threshold, cutoff);
            }

            ranked = WithItems(collection, scored, scored.Count);
            lexicalDepth = Collection.MaxTop;
        }
        else
        {
            int fetch = options.PerVideo is int n ? options.Top * Math.Max(4, 8 / n) : options.Top;
            int k = Math.Min(fetch + exclude.Count, Collection.MaxTop);
            ranked = [.. collection.Search(query.Vector, k, options.Filter, options.Mode, options.Expansion).Where(h => !exclude.Contains(h.Item.Id))];
            lexicalDepth = k;
        }

        // Items named by a "not" word are left out (after the cutoff was estimated over the whole collection).
        if (query.AvoidedWords.Count > 0)
        {
            ranked.RemoveAll(h => NamedByAvoidedWords(h.Item, query));
        }

        // "Less like this" items are not lifted by their names: the person asked for them to go down.
        var avoided = new HashSet<long>(query.AvoidedItemIds);
        List<TextHit> lexical = [.. collection.SearchText(query.Words!, lexicalDepth, options.Filter)
            .Where(h => !exclude.Contains(h.Item.Id) && !avoided.Contains(h.Item.Id) && !NamedByAvoidedWords(h.Item, query))];
        var fused = new Dictionary<long, (SearchHit Hit, double Score)>();
        // Equal scores share a rank (1, 1, 3, …): identical files (a photo and its copy) rank the same, whichever order
        // the store happened to return them in, so the fused order does not depend on the store.
        int rank = 0;
        for (int i = 0; i < ranked.Count; i++)
        {
            rank = i > 0 && ranked[i].Score == ranked[i - 1].Score ? rank : i + 1;
            fused[ranked[i].Item.Id] = (ranked[i], 1.0 / (FusionK + rank));
        }

        // The cosines of the items found by name only, read in one call (from memory when the store holds its vectors).
        long[] byNameOnly = [.. lexical.Select(h => h.Item.Id).Where(id => !fused.ContainsKey(id)).Distinct()];
        Dictionary<long, float> cosineOf = CosinesOf(collection, byNameOnly, query.Vector);

        var textMatches = new HashSet<long>();
        for (int i = 0; i < lexical.Count; i++)
        {
            TextHit hit = lexical[i];
            rank = i > 0 && hit.Relevance == lexical[i - 1].Relevance ? rank : i + 1;
            double add = 1.0 / (FusionK + rank);
            if (hit.MatchesAllWords)
            {
                textMatches.Add(hit.Item.Id);
            }

            if (fused.TryGetValue(hit.Item.Id, out (SearchHit Hit, double Score) known))
            {
                fused[hit.Item.Id] = (known.Hit, known.Score + add);
            }
            else if (cosineOf.TryGetValue(hit.Item.Id, out float cosine))
            {
                fused[hit.Item.Id] = (new SearchHit(hit.Item, cosine), add);
            }
        }

        bool thresholded = !float.IsNegativeInfinity(threshold);
        IEnumerable<(SearchHit Hit, double Score)> candidates = fused.Values;
        if (cut && thresholded)
        {
            candidates = candidates.Where(c => c.Hit.Score >= threshold || textMatches.Contains(c.Hit.Item.Id));
        }

        List<SearchHit> passing = [.. LimitPerVideo(candidates
            .OrderByDescending(c => c.Score).ThenByDescending(c => c.Hit.Score).ThenBy(c => c.Hit.Item.Id)
            .Select(c => c.Hit), options.PerVideo)];
        IReadOnlyList<SearchHit> shown = options.Order == ResultOrder.Score ? passing.Take(options.Top).ToArray() : Order(passing, options.Order).Take(options.Top).ToArray();
        return new RankedSearchResult(shown, thresholded ? threshold : null, cutoff, cut ? passing.Count : 0)
        {
            Retrieval = RetrievalMode.Hybrid,
            TextMatches = textMatches,
        };
    }

    /// <summary>
    /// <see cref="RunHybrid"/> with a threshold, no "not" words, and every item that could pass by its score in
    /// <paramref name="scored"/>: the same fusion and result, over ids. Records are read only for what passes; the
    /// lexical pass over items with some of the words (which only re-ranks items above the threshold) runs only when
    /// some item is above it, and cosines are computed only for text matches outside the ranking.
    /// </summary>
    private static RankedSearchResult RunHybridThresholded(IVectorCollection collection, ComposedQuery query, RankedSearchOptions options,
        HashSet<long> exclude, List<ScoredId> scored, float threshold, RelevanceCutoff? cutoff)
    {
        int above = CountAtLeast(scored, threshold);
        var avoided = new HashSet<long>(query.AvoidedItemIds);
        List<TextScore> lexical = [.. collection.SearchTextScores(query.Words!, Collection.MaxTop, options.Filter, allWordsOnly: above == 0)
            .Where(h => !exclude.Contains(h.Id) && !avoided.Contains(h.Id))];
        var fused = new Dictionary<long, (float Score, double Fused)>(scored.Count);
        int rank = 0;
        for (int i = 0; i < scored.Count; i++)
        {
            rank = i > 0 && scored[i].Score == scored[i - 1].Score ? rank : i + 1;
            fused[scored[i].Id] = (scored[i].Score, 1.0 / (FusionK + rank));
        }

        // Outside the ranking only a text match can pass (see RunHybrid): its cosine, as RunHybrid computes it.
        long[] byNameOnly = [.. lexical.Where(h => h.MatchesAllWords && !fused.ContainsKey(h.Id)).Select(h => h.Id).Distinct()];
        Dictionary<long, float> cosineOf = CosinesOf(collection, byNameOnly, query.Vector);

        var textMatches = new HashSet<long>();
        for (int i = 0; i < lexical.Count; i++)
        {
            TextScore hit = lexical[i];
            rank = i > 0 && hit.Relevance == lexical[i - 1].Relevance ? rank : i + 1;
            double add = 1.0 / (FusionK + rank);
            if (hit.MatchesAllWords)
            {
                textMatches.Add(hit.Id);
            }

            if (fused.TryGetValue(hit.Id, out (float Score, double Fused) known))
            {
                fused[hit.Id] = (known.Score, known.Fused + add);
            }
            else if (cosineOf.TryGetValue(hit.Id, out float cosine))
            {
                fused[hit.Id] = (cosine, add);
            }
        }

        ScoredId[] candidates = [.. fused.Where(c => c.Value.Score >= threshold || textMatches.Contains(c.Key))
            .OrderByDescending(c => c.Value.Fused).ThenByDescending(c => c.Value.Score).ThenBy(c => c.Key)
            .Select(c => new ScoredId(c.Key, c.Value.Score))];
        List<SearchHit> passing = [.. LimitPerVideo(WithItems(collection, candidates, candidates.Length), options.PerVideo)];
        IReadOnlyList<SearchHit> shown = options.Order == ResultOrder.Score ? passing.Take(options.Top).ToArray() : Order(passing, options.Order).Take(options.Top).ToArray();
        return new RankedSearchResult(shown, threshold, cutoff, passing.Count)
        {
            Retrieval = RetrievalMode.Hybrid,
            TextMatches = textMatches,
        };
    }

    /// <summary>
    /// How far apart two computations of one cosine can be: unit vectors of n dimensions summed in another order (or the
    /// query normalised once more) differ by at most about n · 2⁻²⁴ ≈ 3e-5 at 512 dimensions; this bound is 3× that.
    /// </summary>
    private const float RoundingMargin = 1e-4f;

    /// <summary>How many of the scores (best first) are at least <paramref name="threshold"/>.</summary>
    private static int CountAtLeast(List<ScoredId> scored, float threshold)
    {
        int n = 0;
        while (n < scored.Count && scored[n].Score >= threshold)
        {
            n++;
        }

        return n;
    }

    /// <summary>
    /// The first <paramref name="count"/> of <paramref name="scored"/> as hits with their records, read together; an
    /// item deleted meanwhile is left out.
    /// </summary>
    private static List<SearchHit> WithItems(IVectorCollection collection, IReadOnlyList<ScoredId> scored, int count)
    {
        if (count == 0)
        {
            return [];
        }

        var ids = new long[count];
        for (int i = 0; i < count; i++)
        {
            ids[i] = scored[i].Id;
        }

        IReadOnlyList<CollectionItem?> items = collection.GetItems(ids);
        var hits = new List<SearchHit>(count);
        for (int i = 0; i < count; i++)
        {
            if (items[i] is { } item)
            {
                hits.Add(new SearchHit(item, scored[i].Score));
            }
        }

        return hits;
    }

    /// <summary>
    /// Text only: the items whose text contains every word, by text relevance (with <c>all</c>, also those with some
    /// of the words). <see cref="RankedSearchOptions.MinScore"/>, when given, still floors the cosine score.
    /// </summary>
    private static RankedSearchResult RunText(IVectorCollection collection, ComposedQuery query, RankedSearchOptions options, HashSet<long> exclude)
    {
        bool everything = !options.AutomaticCutoff && options.MinScore is null;
        int depth = everything ? Math.Min(Collection.MaxTop, options.Top * (options.PerVideo is int n ? Math.Max(4, 8 / n) : 1) + exclude.Count) : Collection.MaxTop;
        var textMatches = new HashSet<long>();
        // Scores (cosines, read per item) are computed for what is shown, or for every candidate when --min-score needs them.
        var hits = new List<SearchHit>();
        foreach (TextHit hit in collection.SearchText(query.Words!, depth, options.Filter))
        {
            if (exclude.Contains(hit.Item.Id) || (!everything && !hit.MatchesAllWords) || NamedByAvoidedWords(hit.Item, query))
            {
                continue;
            }

            float score = float.NaN;
            if (options.MinScore is float min && !(Cosine(collection, query.Vector, hit.Item.Id) is float cosine && (score = cosine) >= min))
            {
                continue;
            }

            if (hit.MatchesAllWords)
            {
                textMatches.Add(hit.Item.Id);
            }

            hits.Add(new SearchHit(hit.Item, score));
        }

        List<SearchHit> passing = [.. LimitPerVideo(hits, options.PerVideo)];
        List<SearchHit> ordered = options.Order == ResultOrder.Score ? passing : Order(passing, options.Order);
        var shown = new List<SearchHit>(Math.Min(options.Top, ordered.Count));
        foreach (SearchHit hit in ordered)
        {
            if (shown.Count == options.Top)
            {
                break;
            }

            if (float.IsNaN(hit.Score))
            {
                if (Cosine(collection, query.Vector, hit.Item.Id) is float cosine)
                {
                    shown.Add(hit with { Score = cosine });
                }
            }
            else
            {
                shown.Add(hit);
            }
        }

        return new RankedSearchResult(shown, options.MinScore, null, passing.Count)
        {
            Retrieval = RetrievalMode.Text,
            TextMatches = textMatches,
        };
    }

    /// <summary>
    /// True when the item's file name, folder, camera or caption contains every word of one of the query's negative
    /// text terms: hybrid and text searches leave it out (<c>search dog --minus beach</c> shows no <c>beach_dog.jpg</c>).
    /// </summary>
    private static bool NamedByAvoidedWords(CollectionItem item, ComposedQuery query)
    {
        foreach (string words in query.AvoidedWords)
        {
            if (Omnivec.Index.Search.LexicalMatch.ContainsAllWords(item, words))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The cosine of a stored item to the (unit) query, for items the vector ranking did not reach; null when it was deleted meanwhile.</summary>
    private static float? Cosine(IVectorCollection collection, float[] query, long id) =>
        collection.GetVector(id) is { } v && v.Length == query.Length ? System.Numerics.Tensors.TensorPrimitives.Dot(v, query) : null;

    /// <summary>The cosines to the (unit) query of items found by name only, read in one call (from memory when the store holds its vectors); deleted items are left out.</summary>
    private static Dictionary<long, float> CosinesOf(IVectorCollection collection, long[] ids, float[] query)
    {
        IReadOnlyList<float[]?> vectors = ids.Length == 0 ? [] : collection.GetVectors(ids);
        var cosineOf = new Dictionary<long, float>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            if (vectors[i] is { } v && v.Length == query.Length)
            {
                cosineOf[ids[i]] = System.Numerics.Tensors.TensorPrimitives.Dot(v, query);
            }
        }

        return cosineOf;
    }

    private static List<SearchHit> Order(List<SearchHit> hits, ResultOrder order) => order switch
    {
        ResultOrder.Date => [.. hits.OrderBy(h => h.Item.TakenAt ?? h.Item.ModifiedUtc).ThenBy(h => h.Item.Path, StringComparer.Ordinal)],
        ResultOrder.DateDescending => [.. hits.OrderByDescending(h => h.Item.TakenAt ?? h.Item.ModifiedUtc).ThenBy(h => h.Item.Path, StringComparer.Ordinal)],
        ResultOrder.Path => [.. hits.OrderBy(h => SortPath(h.Item), StringComparer.Ordinal)
            .ThenBy(h => VideoSegmentItems.TryGetSegment(h.Item, out _, out double start, out _) ? start : 0)],
        _ => hits,
    };

    /// <summary>
    /// The path an item sorts by: a video moment's file, and for an upload (stored under a content-derived file name)
    /// the name it was uploaded with, which is the name people see.
    /// </summary>
    private static string SortPath(CollectionItem item)
    {
        string path = VideoSegmentItems.TryGetSegment(item, out string file, out _, out _) ? file : item.Path;
        if (item.Extra is { } extra && extra.TryGetValue("name", out string? name) && !string.IsNullOrWhiteSpace(name))
        {
            int slash = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\'));
            return path[..(slash + 1)] + name;
        }

        return path;
    }

    private static IEnumerable<SearchHit> LimitPerVideo(IEnumerable<SearchHit> hits, int? perVideo) =>
        perVideo is int n ? VideoSegmentItems.LimitPerVideo(hits, n) : hits;
}
