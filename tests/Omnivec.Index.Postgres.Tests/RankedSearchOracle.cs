using Omnivec.Index;
using Omnivec.Indexing.Query;

namespace Omnivec.Index.Postgres.Tests;

/// <summary>
/// The ranked search as it was before it ranked over ids: every record of the exact top-10,000 read, the lexical list
/// read in full (both passes, with records) and a cosine for every item found by name only. The cheaper
/// <see cref="RankedSearch.Run"/> must give exactly its result (hits, scores, threshold, count, text matches).
/// Covers the cut searches without "not" words, the cases the cheaper path handles.
/// </summary>
internal static class RankedSearchOracle
{
    public static RankedSearchResult Run(IVectorCollection collection, ComposedQuery query, RankedSearchOptions options)
    {
        var exclude = new HashSet<long>(query.ExampleItemIds);
        long count = collection.Count;
        int depth = (int)Math.Clamp(count, 1, Collection.MaxTop);
        List<SearchHit> ranked = [.. collection.Search(query.Vector, depth, options.Filter, SearchMode.Exact).Where(h => !exclude.Contains(h.Item.Id))];
        long population = ranked.Count < depth - exclude.Count ? ranked.Count : Math.Max(ranked.Count, count - exclude.Count);
        RelevanceCutoff? cutoff = options.AutomaticCutoff ? RelevanceCutoff.Estimate(ranked.Select(h => h.Score).ToArray(), population) : null;
        float threshold = Math.Max(options.MinScore ?? float.NegativeInfinity, cutoff?.Threshold ?? float.NegativeInfinity);
        bool thresholded = !float.IsNegativeInfinity(threshold);
        if (options.Retrieval == RetrievalMode.Vector || string.IsNullOrWhiteSpace(query.Words))
        {
            if (!thresholded)
            {
                return new RankedSearchResult([.. Ordered([.. ranked.Take(options.Top)], options.Order)], null, cutoff, ranked.Count);
            }

            List<SearchHit> kept = [.. ranked.TakeWhile(h => h.Score >= threshold)];
            return new RankedSearchResult([.. Ordered(kept, options.Order).Take(options.Top)], threshold, cutoff, kept.Count);
        }

        var avoided = new HashSet<long>(query.AvoidedItemIds);
        List<TextHit> lexical = [.. collection.SearchText(query.Words!, Collection.MaxTop, options.Filter).Where(h => !exclude.Contains(h.Item.Id) && !avoided.Contains(h.Item.Id))];
        var fused = new Dictionary<long, (SearchHit Hit, double Score)>();
        int rank = 0;
        for (int i = 0; i < ranked.Count; i++)
        {
            rank = i > 0 && ranked[i].Score == ranked[i - 1].Score ? rank : i + 1;
            fused[ranked[i].Item.Id] = (ranked[i], 1.0 / (RankedSearch.FusionK + rank));
        }

        var textMatches = new HashSet<long>();
        for (int i = 0; i < lexical.Count; i++)
        {
            TextHit hit = lexical[i];
            rank = i > 0 && hit.Relevance == lexical[i - 1].Relevance ? rank : i + 1;
            double add = 1.0 / (RankedSearch.FusionK + rank);
            if (hit.MatchesAllWords)
            {
                textMatches.Add(hit.Item.Id);
            }

            if (fused.TryGetValue(hit.Item.Id, out (SearchHit Hit, double Score) known))
            {
                fused[hit.Item.Id] = (known.Hit, known.Score + add);
            }
            else if (collection.GetVector(hit.Item.Id) is { } v)
            {
                fused[hit.Item.Id] = (new SearchHit(hit.Item, System.Numerics.Tensors.TensorPrimitives.Dot(v, query.Vector)), add);
            }
        }

        List<SearchHit> passing = [.. fused.Values.Where(c => !thresholded || c.Hit.Score >= threshold || textMatches.Contains(c.Hit.Item.Id))
            .OrderByDescending(c => c.Score).ThenByDescending(c => c.Hit.Score).ThenBy(c => c.Hit.Item.Id).Select(c => c.Hit)];
        return new RankedSearchResult([.. Ordered(passing, options.Order).Take(options.Top)], thresholded ? threshold : null, cutoff, passing.Count)
        {
            Retrieval = RetrievalMode.Hybrid,
            TextMatches = textMatches,
        };
    }

    /// <summary>Asserts that <paramref name="actual"/> is <paramref name="expected"/>: same hits in the same order with the same scores (bit for bit), same threshold, count and text matches.</summary>
    public static void AssertSame(RankedSearchResult expected, RankedSearchResult actual, string what)
    {
        Assert.True(expected.Hits.Select(h => (h.Item.Id, h.Item.Path, BitConverter.SingleToInt32Bits(h.Score)))
            .SequenceEqual(actual.Hits.Select(h => (h.Item.Id, h.Item.Path, BitConverter.SingleToInt32Bits(h.Score)))),
            $"{what}: hits differ\n  expected {string.Join(", ", expected.Hits.Select(h => $"{h.Item.Id}:{h.Score}"))}\n  actual   {string.Join(", ", actual.Hits.Select(h => $"{h.Item.Id}:{h.Score}"))}");
        Assert.Equal(expected.Threshold, actual.Threshold);
        Assert.Equal(expected.Passed, actual.Passed);
        Assert.Equal(expected.Retrieval, actual.Retrieval);
        Assert.Equal(expected.TextMatches.Order(), actual.TextMatches.Order());
        Assert.Equal(expected.NoMatch, actual.NoMatch);
    }

    private static IEnumerable<SearchHit> Ordered(List<SearchHit> hits, ResultOrder order) => order switch
    {
        ResultOrder.Date => hits.OrderBy(h => h.Item.TakenAt ?? h.Item.ModifiedUtc).ThenBy(h => h.Item.Path, StringComparer.Ordinal),
        ResultOrder.Path => hits.OrderBy(h => h.Item.Path, StringComparer.Ordinal),
        _ => hits,
    };
}
