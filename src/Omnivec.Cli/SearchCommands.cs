using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Omnivec.Index;
using Omnivec.Indexing;
using Omnivec.Indexing.Query;
using Spectre.Console;

namespace Omnivec.Cli;

/// <summary><c>omnivec search</c> (by text or image) and <c>omnivec similar</c> (by an indexed item).</summary>
internal static class SearchCommands
{
    public static Command CreateSearch()
    {
        var embedder = new EmbedderOptions();
        var collection = new CollectionOptions();
        var filters = new FilterOptions();
        var query = new Argument<string?>("query") { Description = "What to look for, in words.", Arity = ArgumentArity.ZeroOrOne };
        var image = new Option<string?>("--image") { Description = "Search by this image instead of words." };
        var audio = new Option<string?>("--audio") { Description = "Search by this recording instead of words (collections of an audio model such as CLAP)." };
        var plus = new Option<string[]>("--plus")
        {
            Description = "Add a term: [WEIGHT:]text, [WEIGHT:]image:PATH, [WEIGHT:]audio:PATH or [WEIGHT:]item:PATH_OR_ID (repeatable).",
            AllowMultipleArgumentsPerToken = false,
        };
        var minus = new Option<string[]>("--minus") { Description = "Subtract a term, same forms as --plus (repeatable): --minus people." };
        var results = new ResultOptions();
        var relevance = new RelevanceOptions();
        var language = new LanguageOption();
        var command = new Command("search", "Find items by describing them, by showing an image (--image) or a recording (--audio), or by a weighted mix (--plus/--minus).");
        command.Arguments.Add(query);
        command.Options.Add(image);
        command.Options.Add(audio);
        command.Options.Add(plus);
        command.Options.Add(minus);
        embedder.AddTo(command);
        collection.AddTo(command);
        filters.AddTo(command);
        results.AddTo(command);
        relevance.AddTo(command);
        language.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            string? text = parse.GetValue(query);
            string? imagePath = parse.GetValue(image);
            string? audioPath = parse.GetValue(audio);
            if (audioPath is not null && (imagePath is not null || !string.IsNullOrWhiteSpace(text)))
            {
                Output.Error("give one of a text query, --image <file> or --audio <file> (add more terms with --plus)");
                return 2;
            }

            // A recording is embedded by the collection's audio model from its bytes, recognised by content.
            string? mediaPath = imagePath ?? audioPath;
            string[] plusTerms = parse.GetValue(plus) ?? [];
            string[] minusTerms = parse.GetValue(minus) ?? [];
            if (!string.IsNullOrWhiteSpace(text) && imagePath is not null)
            {
                Output.Error("give either a text query or --image <file>, not both (add more terms with --plus)");
                return 2;
            }

            var terms = new List<QueryTerm>();
            if (!string.IsNullOrWhiteSpace(text))
            {
                terms.Add(QueryTerm.ForText(text));
            }
            else if (mediaPath is not null)
            {
                if (!File.Exists(mediaPath))
                {
                    Output.Error($"file not found: {mediaPath}");
                    return 2;
                }

                byte[] bytes = await File.ReadAllBytesAsync(mediaPath, cancellationToken).ConfigureAwait(false);
                terms.Add(audioPath is not null ? QueryTerm.ForAudio(bytes, audioPath) : QueryTerm.ForImage(bytes, imagePath!));
            }

            terms.AddRange(plusTerms.Select(t => QueryTerm.Parse(t)));
            terms.AddRange(minusTerms.Select(t => QueryTerm.Parse(t, -1f)));
            if (terms.Count == 0)
            {
                Output.Error("give a text query, --image <file> or --plus terms");
                return 2;
            }

            var searchQuery = new SearchQuery(terms);
            IVectorStore store = collection.OpenStore(parse);
            using IVectorCollection target = store.Open(collection.Name(parse));
            StartupTrace.Mark("collection opened");
            results.ApplyTo(parse, target);
            // The collection's vectors load on the other core while the model loads: the two biggest parts of a cold start
            // (a search by names alone needs no vectors).
            bool byNamesOnly = RankedSearchOptions.ParseRetrieval(parse.GetValue(relevance.Retrieval) ?? "hybrid", "--mode") == RetrievalMode.Text;
            Task preload = byNamesOnly ? Task.CompletedTask : Task.Run(() => target.Preload(cancellationToken), cancellationToken);
            Task preloaded = preload.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            IMultimodalEmbeddingGenerator? loaded = null;
            ComposedQuery composed;
            try
            {
                loaded = language.Apply(parse, await EmbedderFactory.CreateAsync(parse, embedder, target, cancellationToken).ConfigureAwait(false));
                StartupTrace.Mark("model loaded");
                // The query is embedded while the vectors may still be loading; a term naming an item reads its stored
                // vector, so such a query waits for them first.
                if (searchQuery.Terms.Any(t => t.Kind == QueryTermKind.Item))
                {
                    await preloaded.ConfigureAwait(false);
                }

                composed = await new CollectionSearch(loaded, target).ComposeAsync(searchQuery, cancellationToken).ConfigureAwait(false);
                StartupTrace.Mark("query embedded");
            }
            catch
            {
                loaded?.Dispose();
                throw;
            }
            finally
            {
                // Never leave the load running into the collection's disposal. A failure of its own shows again in the search.
                await preloaded.ConfigureAwait(false);
                StartupTrace.Mark("vectors loaded");
            }

            using IMultimodalEmbeddingGenerator generator = loaded;
            RankedSearchResult found = RankedSearch.Run(target, composed, relevance.Build(parse, results, filters.Build(parse)));
            StartupTrace.Mark("searched");

            // A sigmoid-trained model (SigLIP) scores a text against an item as a probability of a match; that reading holds
            // for one text term only (a weighted mix is not a text the model was trained on).
            SigmoidScoreCalibration? calibration = searchQuery.Terms is [{ Kind: QueryTermKind.Text, Weight: > 0 }]
                ? generator.GetService(typeof(SigmoidScoreCalibration)) as SigmoidScoreCalibration
                : null;
            Print(found, parse.GetValue(results.Json), searchQuery.ToString(), parse.GetValue(relevance.PerFolder), calibration);
            StartupTrace.Mark("results printed");
            return 0;
        });
        return command;
    }

    public static Command CreateSimilar()
    {
        var collection = new CollectionOptions();
        var filters = new FilterOptions();
        var path = new Argument<string>("path") { Description = "An indexed file, or a moment of an indexed video: clip.mp4@12.5 (seconds)." };
        var results = new ResultOptions();
        var command = new Command("similar", "Find the items most like one already indexed (no model needed).");
        command.Arguments.Add(path);
        collection.AddTo(command);
        filters.AddTo(command);
        results.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            IVectorStore store = collection.OpenStore(parse);
            using IVectorCollection target = store.Open(collection.Name(parse));
            results.ApplyTo(parse, target);
            string full = Path.GetFullPath(parse.GetValue(path)!);
            CollectionItem? item = VideoSegmentItems.Resolve(target, full);
            if (item is null)
            {
                Output.Error($"{full} is not in collection '{target.Name}'; index it first");
                return Task.FromResult(2);
            }

            SearchMode mode = results.Mode(parse);
            int k = results.Fetch(parse);
            float[] vector = target.GetVector(item.Id) ?? throw new InvalidInputException($"{full} was removed from collection '{target.Name}' meanwhile");
            IReadOnlyList<SearchHit> hits = target.Search(vector, k + 1, filters.Build(parse), mode).Where(h => h.Item.Id != item.Id).Take(k).ToArray();
            Print(results.Finish(parse, hits), parse.GetValue(results.Json), VideoSegmentItems.Display(item));
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Prints a ranked search: "No match." when the cutoff left nothing, else the hits (grouped by folder when asked).</summary>
    internal static void Print(RankedSearchResult found, bool asJson, string query, bool perFolder, SigmoidScoreCalibration? calibration = null)
    {
        if (asJson)
        {
            Output.WriteJsonLine(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("query", query);
                writer.WriteString("mode", found.Retrieval.ToString().ToLowerInvariant());
                writer.WriteBoolean("no_match", found.NoMatch);
                if (found.Threshold is float threshold)
                {
                    writer.WriteNumber("threshold", threshold);
                    writer.WriteNumber("passed", found.Passed);
                }

                writer.WriteStartArray("results");
                int rank = 1;
                foreach (SearchHit hit in found.Hits)
                {
                    WriteHit(writer, hit, rank++, calibration, found.TextMatches.Contains(hit.Item.Id));
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            });
            return;
        }

        if (found.NoMatch)
        {
            const string NoWords = "no file name, folder, camera or caption contains every word of the query";
            Console.WriteLine(found.Retrieval == RetrievalMode.Text
                ? $"No match: {NoWords}. Use --mode hybrid to search by meaning too."
                : string.Create(CultureInfo.InvariantCulture,
                    $"No match: nothing scores above {found.Threshold:F4}{(found.Cutoff is { } c ? $" (the automatic cutoff: {c.Z:F1} spreads above this query's typical score {c.Centre:F4})" : "")}{(found.Retrieval == RetrievalMode.Hybrid ? $", and {NoWords}" : "")}. Use --all to see the nearest items anyway."));
            return;
        }

        if (!perFolder)
        {
            Print(found.Hits, asJson: false, query, calibration);
            return;
        }

        foreach (IGrouping<string, SearchHit> folder in found.Hits.GroupBy(h => Path.GetDirectoryName(h.Item.Path) ?? ""))
        {
            Console.WriteLine(folder.Key + Path.DirectorySeparatorChar + string.Create(CultureInfo.InvariantCulture, $"  ({folder.Count()})"));
            Print([.. folder], asJson: false, query, calibration);
        }
    }

    internal static void Print(IReadOnlyList<SearchHit> hits, bool asJson, string query, SigmoidScoreCalibration? calibration = null)
    {
        if (asJson)
        {
            Output.WriteJsonLine(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("query", query);
                writer.WriteStartArray("results");
                int rank = 1;
                foreach (SearchHit hit in hits)
                {
                    WriteHit(writer, hit, rank++, calibration);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            });
            return;
        }

        if (hits.Count == 0)
        {
            Console.WriteLine("No results.");
            return;
        }

        if (Console.IsOutputRedirected)
        {
            // Pipes and files get one tab-separated line per hit, easy to cut and grep.
            int rank = 1;
            foreach (SearchHit hit in hits)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{rank++}\t{hit.Score:F4}\t{(calibration is null ? "" : $"{calibration.Probability(hit.Score):F4}\t")}{VideoSegmentItems.Display(hit.Item)}\t{hit.Item.Width}x{hit.Item.Height}\t{(hit.Item.TakenAt ?? hit.Item.ModifiedUtc):yyyy-MM-dd}"));
            }

            return;
        }

        var table = new Table().Border(TableBorder.Simple)
            .AddColumn(new TableColumn("#").RightAligned())
            .AddColumn(new TableColumn("score").RightAligned());
        if (calibration is not null)
        {
            table.AddColumn(new TableColumn("match").RightAligned());
        }

        table.AddColumn("path")
            .AddColumn(new TableColumn("size").RightAligned())
            .AddColumn("taken");
        int i = 1;
        foreach (SearchHit hit in hits)
        {
            var cells = new List<string>
            {
                (i++).ToString(CultureInfo.InvariantCulture),
                hit.Score.ToString("F4", CultureInfo.InvariantCulture),
            };
            if (calibration is not null)
            {
                cells.Add(calibration.Probability(hit.Score).ToString("P1", CultureInfo.InvariantCulture));
            }

            cells.Add(Markup.Escape(VideoSegmentItems.Display(hit.Item)));
            cells.Add(hit.Item.Width > 0 ? $"{hit.Item.Width}x{hit.Item.Height}" : "");
            cells.Add((hit.Item.TakenAt ?? hit.Item.ModifiedUtc).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            table.AddRow([.. cells]);
        }

        AnsiConsole.Write(table);
    }

    internal static void WriteHit(Utf8JsonWriter writer, SearchHit hit, int rank, SigmoidScoreCalibration? calibration = null, bool textMatch = false)
    {
        writer.WriteStartObject();
        writer.WriteNumber("rank", rank);
        writer.WriteNumber("score", hit.Score);

        if (textMatch)
        {
            // Found (also) by the lexical index: its name, folder, camera or caption contains every word.
            writer.WriteBoolean("text_match", true);
        }

        if (calibration is not null)
        {
            // SigLIP: sigmoid(exp(logit_scale) * cos + logit_bias), the model's own probability that the text describes the item.
            writer.WriteNumber("probability", calibration.Probability(hit.Score));
        }

        writer.WriteNumber("id", hit.Item.Id);
        if (VideoSegmentItems.TryGetSegment(hit.Item, out string video, out double start, out double end))
        {
            // A video segment: the file's path and the moment's offsets (the item's own key is the path with #t=start,end).
            writer.WriteString("path", video);
            writer.WriteNumber("start_offset_sec", start);
            writer.WriteNumber("end_offset_sec", end);
            writer.WriteString("item_path", hit.Item.Path);
        }
        else
        {
            writer.WriteString("path", hit.Item.Path);
        }

        writer.WriteString("media_type", hit.Item.MediaType);
        writer.WriteNumber("width", hit.Item.Width);
        writer.WriteNumber("height", hit.Item.Height);
        writer.WriteNumber("size_bytes", hit.Item.SizeBytes);
        if (hit.Item.TakenAt is { } taken)
        {
            writer.WriteString("taken_at", taken);
        }

        if (hit.Item.Camera is { } camera)
        {
            writer.WriteString("camera", camera);
        }

        writer.WriteString("modified_utc", hit.Item.ModifiedUtc);
        writer.WriteEndObject();
    }
}

/// <summary>How many results, in which form, and how hard to search: shared by search and similar.</summary>
internal sealed class ResultOptions
{
    public Option<int> Top { get; } = new("--top", "-k") { Description = "How many results.", DefaultValueFactory = _ => 10 };

    public Option<bool> Json { get; } = new("--json") { Description = "Print the results as JSON." };

    public Option<bool> Exact { get; } = new("--exact") { Description = "Exact search even on large collections (slower, never misses)." };

    public Option<int?> PerVideo { get; } = new("--per-video") { Description = "Keep at most this many segments of each video (e.g. 1: the best moment of each)." };

    public Option<int?> Expansion { get; } = new("--ef")
    {
        Description = $"HNSW search expansion on large collections: higher is slower and misses less (default {Collection.DefaultSearchExpansion}).",
    };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Top, Json, Exact, Expansion, PerVideo })
        {
            command.Options.Add(option);
        }
    }

    public SearchMode Mode(ParseResult parse) => parse.GetValue(Exact) ? SearchMode.Exact : SearchMode.Auto;

    /// <summary>How many hits to ask the collection for: more when --per-video will drop some.</summary>
    public int Fetch(ParseResult parse) => parse.GetValue(PerVideo) is int n and > 0 ? Math.Min(Collection.MaxTop, parse.GetValue(Top) * Math.Max(4, 8 / n)) : parse.GetValue(Top);

    /// <summary>Applies --per-video and --top to hits (best first).</summary>
    public IReadOnlyList<SearchHit> Finish(ParseResult parse, IReadOnlyList<SearchHit> hits)
    {
        IEnumerable<SearchHit> kept = parse.GetValue(PerVideo) is int n and > 0 ? VideoSegmentItems.LimitPerVideo(hits, n) : hits;
        return [.. kept.Take(parse.GetValue(Top))];
    }

    /// <summary>Sets the collection's search expansion when --ef is given (validated there: a typed error when out of range).</summary>
    public void ApplyTo(ParseResult parse, IVectorCollection target)
    {
        if (parse.GetValue(Expansion) is { } value)
        {
            target.SearchExpansion = value;
        }
    }
}

/// <summary>The relevance cutoff, ordering and grouping of <c>omnivec search</c>.</summary>
internal sealed class RelevanceOptions
{
    public Option<float?> MinScore { get; } = new("--min-score") { Description = "Only results with at least this cosine score (an absolute floor, on top of the automatic cutoff)." };

    public Option<bool> All { get; } = new("--all") { Description = "No automatic cutoff: show the nearest items even when none stands out." };

    public Option<string> Sort { get; } = new("--sort")
    {
        Description = "Order of what passes the cutoff: score (default), date (oldest first), -date or newest (newest first), path. Date is the capture time, else the file time.",
        DefaultValueFactory = _ => "score",
    };

    public Option<bool> PerFolder { get; } = new("--per-folder") { Description = "Group the results by folder (folders in order of their best result)." };

    public Option<string> Retrieval { get; } = new("--mode")
    {
        Description = "hybrid (default): the picture's meaning and the words of file names, folders, cameras and captions, fused; " +
            "vector: meaning only; text: names and metadata only.",
        DefaultValueFactory = _ => "hybrid",
    };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { MinScore, All, Sort, PerFolder, Retrieval })
        {
            command.Options.Add(option);
        }
    }

    public RankedSearchOptions Build(ParseResult parse, ResultOptions results, SearchFilter? filter) => new()
    {
        Top = parse.GetValue(results.Top),
        Filter = filter,
        Mode = results.Mode(parse),
        MinScore = parse.GetValue(MinScore),
        AutomaticCutoff = !parse.GetValue(All),
        Order = ParseOrder(parse.GetValue(Sort) ?? "score"),
        PerVideo = parse.GetValue(results.PerVideo),
        Retrieval = RankedSearchOptions.ParseRetrieval(parse.GetValue(Retrieval) ?? "hybrid", "--mode"),
    };

    internal static ResultOrder ParseOrder(string value) => RankedSearchOptions.ParseOrder(value, "--sort");
}
