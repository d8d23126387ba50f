using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using Omnivec.Index;
using Omnivec.Text;
using Omnivec.Indexing;
using Omnivec.Indexing.Classification;
using Omnivec.Indexing.Query;

namespace Omnivec.Mcp;

/// <summary>The four tools: search (with the query algebra and the relevance cutoff), similar, classify and list_collections.</summary>
internal sealed class McpTools(IMcpCollectionHost host, ILogger logger)
{
    /// <summary>Most results one call returns.</summary>
    internal const int MaxLimit = 1000;

    private const string HitSchema = """
        {"type": "object", "properties": {
          "rank": {"type": "integer"}, "score": {"type": "number", "description": "Cosine similarity to the query."},
          "id": {"type": "integer", "description": "The item's id in the collection (use it in item: terms, similar and classify)."},
          "path": {"type": "string", "description": "The file (for a video moment: the video file)."},
          "start_offset_sec": {"type": "number", "description": "Video moments: where the moment starts, in seconds."},
          "end_offset_sec": {"type": "number", "description": "Video moments: where the moment ends, in seconds."},
          "item_path": {"type": "string", "description": "Video moments: the item's own key (path#t=start,end)."},
          "media_type": {"type": "string"}, "width": {"type": "integer"}, "height": {"type": "integer"}, "size_bytes": {"type": "integer"},
          "taken_at": {"type": "string", "format": "date-time", "description": "Capture time from EXIF, when known."},
          "camera": {"type": "string"}, "modified_utc": {"type": "string", "format": "date-time"}},
         "required": ["rank", "score", "id", "path", "media_type"]}
        """;

    private const string CollectionArgument = """
        "collection": {"type": "string", "description": "Which collection (list_collections names them); default: the server's default collection."}
        """;

    private const string TypeArgument = """
        "type": {"type": "string", "description": "Only items of this media type or prefix: image/png, image/, video/ (video/* works too)."}
        """;

    private const string LanguageArgument = """
        "language": {"type": "string", "description": "Language of the words, for models that take one (NLLB-CLIP): a FLORES-200 code such as deu_Latn, or a language code such as de or zh-TW. Default: the server's (its --language, else its locale's, else eng_Latn); models that read any language ignore it."}
        """;

    internal static readonly string SearchInput = $$$"""
        {"type": "object", "properties": {
          "query": {"type": "string", "description": "What to look for, in words: the first term of the query (weight 1)."},
          "image": {"type": "string", "description": "Search by the image file at this path on this machine (local server only)."},
          "image_base64": {"type": "string", "description": "Search by this image: base64 bytes or a data: URL (JPEG, PNG, WebP, …)."},
          "plus": {"type": "array", "items": {"type": "string"}, "description": "Terms to add, each [WEIGHT:]text, [WEIGHT:]image:PATH or [WEIGHT:]item:PATH_OR_ID, e.g. \"sunset\", \"0.5:item:42\". Each term's embedding is normalised, weighted and summed with the others."},
          "minus": {"type": "array", "items": {"type": "string"}, "description": "Terms to subtract (same forms): [\"people\"] means less like people; \"0.5:red\" subtracts half of \"red\"."},
          {{{CollectionArgument}}},
          "limit": {"type": "integer", "minimum": 1, "maximum": {{{MaxLimit}}}, "default": 10, "description": "Most results to return."},
          "min_score": {"type": "number", "minimum": -1, "maximum": 1, "description": "Only results with at least this cosine score (an absolute floor on top of the automatic cutoff)."},
          "all": {"type": "boolean", "default": false, "description": "Turn the automatic relevance cutoff off: return the nearest items even when none stands out."},
          "sort": {"type": "string", "enum": ["score", "date", "-date", "newest", "path"], "default": "score", "description": "Order of what passes the cutoff: score, date (oldest first), -date/newest (newest first), path. Date is the capture time, else the file time."},
          "mode": {"type": "string", "enum": ["hybrid", "vector", "text"], "default": "hybrid", "description": "hybrid: the picture's meaning fused with the words of file names, folders, camera models and captions (a photo whose name or camera contains every word of 'query' is a match, e.g. IMG_0042 or 'canon'); vector: meaning only; text: names and metadata only."},
          {{{TypeArgument}}},
          "per_video": {"type": "integer", "minimum": 1, "description": "At most this many moments of each video (1: its best moment)."},
          {{{LanguageArgument}}} },
         "additionalProperties": false}
        """;

    internal static readonly string SearchOutput = $$$"""
        {"type": "object", "properties": {
          "collection": {"type": "string"},
          "query": {"type": "string", "description": "The query as understood, e.g. \"a beach\" - \"people\"."},
          "no_match": {"type": "boolean", "description": "True when the cutoff left nothing: no item stands out for this query (call again with all=true for the nearest anyway)."},
          "threshold": {"type": "number", "description": "The score a result needed (automatic cutoff or min_score), when one applied."},
          "passed": {"type": "integer", "description": "How many items passed the threshold (may exceed the results returned)."},
          "mode": {"type": "string", "enum": ["hybrid", "vector", "text"], "description": "The retrieval used (hybrid becomes vector for a query without words)."},
          "text_matches": {"type": "array", "items": {"type": "integer"}, "description": "Ids of the results whose file name, folder, camera or caption contains every word of the query."},
          "results": {"type": "array", "items": {{{HitSchema}}} }},
         "required": ["collection", "query", "no_match", "results"]}
        """;

    internal static readonly string SimilarInput = $$$"""
        {"type": "object", "properties": {
          "item": {"type": ["string", "integer"], "description": "An indexed item: its id (from search results), its file path, or a moment of an indexed video as path@seconds (clip.mp4@12.5)."},
          {{{CollectionArgument}}},
          "limit": {"type": "integer", "minimum": 1, "maximum": {{{MaxLimit}}}, "default": 10},
          {{{TypeArgument}}} },
         "required": ["item"], "additionalProperties": false}
        """;

    internal static readonly string SimilarOutput = $$$"""
        {"type": "object", "properties": {
          "collection": {"type": "string"}, "item_id": {"type": "integer"}, "item": {"type": "string"},
          "results": {"type": "array", "items": {{{HitSchema}}} }},
         "required": ["collection", "item_id", "item", "results"]}
        """;

    internal static readonly string ClassifyInput = $$$"""
        {"type": "object", "properties": {
          "labels": {"type": "array", "items": {"type": "string"}, "minItems": 2, "description": "The candidate labels (at least two), e.g. [\"cat\", \"dog\", \"car\"]."},
          "image": {"type": "string", "description": "The image file at this path on this machine (local server only)."},
          "image_base64": {"type": "string", "description": "The image as base64 bytes or a data: URL."},
          "item": {"type": ["string", "integer"], "description": "An indexed item (id or path): its stored vector is classified, no image needed."},
          {{{CollectionArgument}}},
          "templates": {"type": "string", "enum": ["imagenet", "simple"], "default": "imagenet", "description": "Prompt set: CLIP's 80 ImageNet templates, or just \"a photo of a {}.\"."},
          "limit": {"type": "integer", "minimum": 1, "maximum": {{{MaxLimit}}}, "default": 5, "description": "Most labels to return, best first."},
          {{{LanguageArgument}}} },
         "required": ["labels"], "additionalProperties": false}
        """;

    internal const string ClassifyOutput = """
        {"type": "object", "properties": {
          "labels": {"type": "array", "items": {"type": "object", "properties": {
            "label": {"type": "string"}, "probability": {"type": "number"}, "similarity": {"type": "number"}}, "required": ["label", "probability", "similarity"]}}},
         "required": ["labels"]}
        """;

    internal const string ListInput = """{"type": "object", "properties": {}, "additionalProperties": false}""";

    internal const string ListOutput = """
        {"type": "object", "properties": {
          "default_collection": {"type": "string"},
          "collections": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "count": {"type": "integer"}, "provider": {"type": "string"}, "model": {"type": "string"},
            "dimensions": {"type": "integer"}, "bytes_on_disk": {"type": "integer"}, "updated_utc": {"type": "string", "format": "date-time"}},
            "required": ["name", "count", "model", "dimensions"]}}},
         "required": ["default_collection", "collections"]}
        """;

    public IReadOnlyList<OmnivecTool> Create() =>
    [
        new("search", "Search photos and videos",
            "Find items in a collection by describing them, by an example image or item, or by a weighted mix (plus/minus terms). " +
            "Only results that stand out from the rest are returned (no_match=true when none does; all=true returns the nearest anyway).",
            SearchInput, SearchOutput, SearchAsync, logger),
        new("similar", "Find similar items", "Items most like one already in the collection (by id, path or video moment).",
            SimilarInput, SimilarOutput, SimilarAsync, logger),
        new("classify", "Classify an image", "Zero-shot classification: which of the given labels fits an image (or an indexed item) best, with probabilities.",
            ClassifyInput, ClassifyOutput, ClassifyAsync, logger),
        new("list_collections", "List collections", "The collections that can be searched, with their item counts and models.",
            ListInput, ListOutput, ListAsync, logger),
    ];

    private async Task<CallToolResult> SearchAsync(ToolArguments args, CancellationToken cancellationToken)
    {
        var terms = new List<QueryTerm>();
        if (args.String("query") is { } text)
        {
            terms.Add(QueryTerm.ForText(text));
        }

        if (ReadImage(args, "search") is { } image)
        {
            terms.Add(QueryTerm.ForImage(image.Bytes, image.Name));
        }

        terms.AddRange(args.Strings("plus").Select(t => ParseTerm(t, 1f)));
        terms.AddRange(args.Strings("minus").Select(t => ParseTerm(t, -1f)));
        if (terms.Count == 0)
        {
            throw new InvalidInputException("search: give 'query' (words), 'image', 'image_base64' or 'plus' terms.");
        }

        var query = new SearchQuery(terms);
        var options = new RankedSearchOptions
        {
            Top = args.Integer("limit", 1, MaxLimit) ?? 10,
            Filter = TypeFilter(args),
            MinScore = args.Number("min_score", -1f, 1f),
            AutomaticCutoff = !(args.Bool("all") ?? false),
            Order = RankedSearchOptions.ParseOrder(args.String("sort") ?? "score", "search: 'sort'"),
            PerVideo = args.Integer("per_video", 1, MaxLimit),
            Retrieval = RankedSearchOptions.ParseRetrieval(args.String("mode") ?? "hybrid", "search: 'mode'"),
        };
        using McpCollectionLease lease = Open(args);
        IVectorCollection collection = lease.Collection;
        // Only text and image terms need the model; a query of items alone runs without loading it.
        IMultimodalEmbeddingGenerator? embedder = null;
        string? language = args.String("language");
        async Task<IMultimodalEmbeddingGenerator> Embedder(CancellationToken ct)
        {
            if (embedder is null)
            {
                embedder = await host.GetEmbedderAsync(collection, ct).ConfigureAwait(false);
                collection.Space.EnsureCompatibleWith(embedder.Space);
            }

            return embedder;
        }

        // Models told the query's language (NLLB-CLIP) read it as its code glued in front; an unknown one is refused
        // before the first text is embedded. Models that read any language ignore it.
        async Task<string> InLanguage(string words, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(language) ? words : LanguageCode(await Embedder(ct).ConfigureAwait(false), language) + words;

        ComposedQuery composed = await query.ComposeAsync(collection,
            async (words, ct) => (await ((IEmbeddingGenerator<string, Embedding<float>>)await Embedder(ct).ConfigureAwait(false))
                .GenerateAsync(await InLanguage(words, ct).ConfigureAwait(false), cancellationToken: ct).ConfigureAwait(false)).Vector.ToArray(),
            async (term, ct) => (await ((IEmbeddingGenerator<DataContent, Embedding<float>>)await Embedder(ct).ConfigureAwait(false))
                .GenerateAsync(term.Kind == QueryTermKind.Audio
                    ? new DataContent(term.Audio, Omnivec.Media.AudioSniffer.SniffMediaType(term.Audio.Span) ?? "audio/x-unknown") { Name = term.AudioName }
                    : new DataContent(term.Image, "application/octet-stream") { Name = term.ImageName }, cancellationToken: ct).ConfigureAwait(false)).Vector.ToArray(),
            cancellationToken).ConfigureAwait(false);
        RankedSearchResult found = RankedSearch.Run(collection, composed, options);

        JsonElement structured = Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("collection", collection.Name);
            writer.WriteString("query", query.ToString());
            writer.WriteBoolean("no_match", found.NoMatch);
            if (found.Threshold is float threshold)
            {
                writer.WriteNumber("threshold", threshold);
                writer.WriteNumber("passed", found.Passed);
            }

            writer.WriteString("mode", found.Retrieval.ToString().ToLowerInvariant());
            writer.WriteStartArray("text_matches");
            foreach (SearchHit hit in found.Hits.Where(h => found.TextMatches.Contains(h.Item.Id)))
            {
                writer.WriteNumberValue(hit.Item.Id);
            }

            writer.WriteEndArray();
            WriteHits(writer, collection.Name, found.Hits);
            writer.WriteEndObject();
        });
        var summary = new StringBuilder();
        if (found.NoMatch)
        {
            summary.Append(found.Retrieval == RetrievalMode.Text
                ? $"No match for {query} in collection '{collection.Name}': no file name, folder, camera or caption contains every word. Call search again with mode=hybrid to search by meaning too."
                : string.Create(CultureInfo.InvariantCulture, $"No match for {query} in collection '{collection.Name}': nothing scores above {found.Threshold:F4}{(found.Retrieval == RetrievalMode.Hybrid ? " and no file name, folder, camera or caption contains every word" : "")}. Call search again with all=true to see the nearest items anyway."));
        }
        else
        {
            summary.Append(CultureInfo.InvariantCulture, $"{found.Hits.Count} result{(found.Hits.Count == 1 ? "" : "s")} for {query} in collection '{collection.Name}'");
            summary.Append(found.Threshold is float t
                ? string.Create(CultureInfo.InvariantCulture, $" ({found.Passed} passed the relevance threshold {t:F4}):")
                : ":");
            AppendHits(summary, collection.Name, found.Hits);
        }

        return Result(summary.ToString(), structured);
    }

    private Task<CallToolResult> SimilarAsync(ToolArguments args, CancellationToken cancellationToken)
    {
        string reference = args.IdOrPath("item") ?? throw new InvalidInputException("similar: 'item' is required (an item id, a file path or path@seconds).");
        int limit = args.Integer("limit", 1, MaxLimit) ?? 10;
        SearchFilter? filter = TypeFilter(args);
        using McpCollectionLease lease = Open(args);
        IVectorCollection collection = lease.Collection;
        CollectionItem item = FindItem(collection, reference, "similar: 'item'");
        float[] vector = collection.GetVector(item.Id) ?? throw new InvalidInputException($"similar: item {item.Id} was removed from collection '{collection.Name}' meanwhile.");
        SearchHit[] hits = collection.Search(vector, Math.Min(limit + 1, Collection.MaxTop), filter).Where(h => h.Item.Id != item.Id).Take(limit).ToArray();
        string shown = host.DisplayPath(collection.Name, VideoSegmentItems.Display(item));
        JsonElement structured = Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("collection", collection.Name);
            writer.WriteNumber("item_id", item.Id);
            writer.WriteString("item", shown);
            WriteHits(writer, collection.Name, hits);
            writer.WriteEndObject();
        });
        var summary = new StringBuilder();
        summary.Append(CultureInfo.InvariantCulture, $"{hits.Length} item{(hits.Length == 1 ? "" : "s")} most like {shown} (id {item.Id}) in collection '{collection.Name}':");
        AppendHits(summary, collection.Name, hits);
        return Task.FromResult(Result(summary.ToString(), structured));
    }

    private async Task<CallToolResult> ClassifyAsync(ToolArguments args, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> labels = args.Strings("labels");
        string[] distinct = labels.Select(l => l.Trim()).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length < 2)
        {
            throw new InvalidInputException("classify: 'labels' needs at least two distinct labels, e.g. [\"cat\", \"dog\"].");
        }

        if (distinct.Length > MaxLimit)
        {
            throw new InvalidInputException($"classify: 'labels' has {distinct.Length} labels; the limit is {MaxLimit}.");
        }

        IReadOnlyList<string> templates = (args.String("templates") ?? "imagenet").Trim().ToLowerInvariant() switch
        {
            "imagenet" => PromptTemplates.ImageNet,
            "simple" => PromptTemplates.Simple,
            string other => throw new InvalidInputException($"classify: 'templates' must be \"imagenet\" or \"simple\"; got \"{ToolArguments.Quote(other)}\"."),
        };
        int limit = args.Integer("limit", 1, MaxLimit) ?? 5;
        string? itemReference = args.IdOrPath("item");
        (byte[] Bytes, string Name)? image = ReadImage(args, "classify");
        if ((itemReference is null) == (image is null))
        {
            throw new InvalidInputException("classify: give exactly one of 'image', 'image_base64' or 'item'.");
        }

        string? language = args.String("language");
        string? code;
        string subject;
        float[] vector;
        IMultimodalEmbeddingGenerator embedder;
        if (itemReference is not null)
        {
            using McpCollectionLease lease = Open(args);
            IVectorCollection collection = lease.Collection;
            CollectionItem item = FindItem(collection, itemReference, "classify: 'item'");
            vector = collection.GetVector(item.Id) ?? throw new InvalidInputException($"classify: item {item.Id} was removed from collection '{collection.Name}' meanwhile.");
            embedder = await host.GetEmbedderAsync(collection, cancellationToken).ConfigureAwait(false);
            collection.Space.EnsureCompatibleWith(embedder.Space);
            code = LanguageCode(embedder, language);
            subject = host.DisplayPath(collection.Name, VideoSegmentItems.Display(item));
        }
        else
        {
            // The collection named (or the default one) decides the model; without any collection, the host's default model.
            string name = args.String("collection") ?? host.DefaultCollection;
            McpCollectionLease? lease = null;
            try
            {
                lease = host.OpenCollection(name);
            }
            catch (CollectionNotFoundException) when (!args.Has("collection"))
            {
            }

            using (lease)
            {
                embedder = await host.GetEmbedderAsync(lease?.Collection, cancellationToken).ConfigureAwait(false);
            }

            code = LanguageCode(embedder, language);

            IEmbeddingGenerator<DataContent, Embedding<float>> images = embedder;
            Embedding<float> embedding = await images.GenerateAsync(new DataContent(image!.Value.Bytes, "application/octet-stream") { Name = image.Value.Name },
                cancellationToken: cancellationToken).ConfigureAwait(false);
            vector = embedding.Vector.ToArray();
            subject = image.Value.Name;
        }

        // A model told its language (NLLB-CLIP) reads each prompt with the language's code in front.
        ZeroShotClassifier classifier = await ZeroShotClassifier.CreateAsync(embedder, distinct,
            code is null ? templates : templates.Select(t => code + t).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
        LabelScore[] scores = classifier.Classify(vector).Take(limit).ToArray();
        JsonElement structured = Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("labels");
            foreach (LabelScore score in scores)
            {
                writer.WriteStartObject();
                writer.WriteString("label", score.Label);
                writer.WriteNumber("probability", score.Probability);
                writer.WriteNumber("similarity", score.Similarity);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
        var summary = new StringBuilder();
        summary.Append(CultureInfo.InvariantCulture, $"{subject}:");
        foreach (LabelScore score in scores)
        {
            summary.Append(CultureInfo.InvariantCulture, $"\n{score.Probability,7:P1}  {score.Label}");
        }

        return Result(summary.ToString(), structured);
    }

    /// <summary>
    /// The model's code for a call's <c>language</c>: null when none is given or the model reads any language; an unknown
    /// language fails here, before any image or text is embedded.
    /// </summary>
    /// <exception cref="UnknownLanguageException">The model does not know the language.</exception>
    private static string? LanguageCode(IMultimodalEmbeddingGenerator embedder, string? language) =>
        !string.IsNullOrWhiteSpace(language) && embedder.GetService(typeof(TextLanguages)) is TextLanguages languages
            ? languages.Resolve(language)
            : null;

    private Task<CallToolResult> ListAsync(ToolArguments args, CancellationToken cancellationToken)
    {
        IReadOnlyList<CollectionInfo> collections = host.ListCollections();
        JsonElement structured = Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("default_collection", host.DefaultCollection);
            writer.WriteStartArray("collections");
            foreach (CollectionInfo c in collections)
            {
                writer.WriteStartObject();
                writer.WriteString("name", c.Name);
                writer.WriteNumber("count", c.Count);
                writer.WriteString("provider", c.Space.Provider);
                writer.WriteString("model", c.Space.ModelId);
                writer.WriteNumber("dimensions", c.Space.Dimensions);
                writer.WriteNumber("bytes_on_disk", c.BytesOnDisk);
                writer.WriteString("updated_utc", c.UpdatedUtc);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
        var summary = new StringBuilder();
        summary.Append(CultureInfo.InvariantCulture, $"{collections.Count} collection{(collections.Count == 1 ? "" : "s")} (default: '{host.DefaultCollection}')");
        foreach (CollectionInfo c in collections)
        {
            summary.Append(CultureInfo.InvariantCulture, $"\n{c.Name}: {c.Count:N0} items, {c.Space.ModelId}");
        }

        return Task.FromResult(Result(summary.ToString(), structured));
    }

    private McpCollectionLease Open(ToolArguments args)
    {
        string name = args.String("collection") ?? host.DefaultCollection;
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new InvalidInputException("'collection' is empty.");
        }

        try
        {
            return host.OpenCollection(name);
        }
        catch (CollectionNotFoundException)
        {
            string known = string.Join(", ", host.ListCollections().Select(c => "'" + c.Name + "'"));
            throw new CollectionNotFoundException($"No collection named '{ToolArguments.Quote(name)}'{(known.Length > 0 ? "; there are " + known : "; the store has none yet")}.");
        }
    }

    /// <summary>A term in the command line's form; image files only where the host reads local files.</summary>
    private QueryTerm ParseTerm(string spec, float sign)
    {
        if (!host.CanReadLocalFiles && NamesImageFile(spec))
        {
            throw new InvalidInputException(
                $"Query term '{ToolArguments.Quote(spec)}': this server does not read files from its disk; send an image as 'image_base64', or use an indexed item (item:ID).");
        }

        return QueryTerm.Parse(spec, sign);
    }

    /// <summary>True for <c>[WEIGHT:]image:…</c>, <c>[WEIGHT:]img:…</c>, <c>[WEIGHT:]audio:…</c> and <c>[WEIGHT:]sound:…</c> (terms that read a file).</summary>
    internal static bool NamesImageFile(string spec)
    {
        string rest = spec.TrimStart();
        int colon = rest.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && float.TryParse(rest[..colon], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            rest = rest[(colon + 1)..];
        }

        return rest.StartsWith("image:", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("img:", StringComparison.OrdinalIgnoreCase)
            || rest.StartsWith("audio:", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("sound:", StringComparison.OrdinalIgnoreCase);
    }

    private (byte[] Bytes, string Name)? ReadImage(ToolArguments args, string tool)
    {
        string? path = args.String("image");
        string? data = args.String("image_base64");
        if (path is not null && data is not null)
        {
            throw new InvalidInputException($"{tool}: give 'image' or 'image_base64', not both.");
        }

        if (path is not null)
        {
            if (!host.CanReadLocalFiles)
            {
                throw new InvalidInputException($"{tool}: this server does not read files from its disk ('image'); send the image as 'image_base64'.");
            }

            try
            {
                return (File.ReadAllBytes(ExpandHome(path)), path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new InvalidInputException($"{tool}: cannot read the image '{ToolArguments.Quote(path)}': {e.Message}", e);
            }
        }

        return data is null ? null : (DecodeBase64(data, $"{tool}: 'image_base64'"), "image_base64");
    }

    internal static byte[] DecodeBase64(string data, string label)
    {
        string payload = data.Trim();
        if (payload.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            int comma = payload.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || !payload[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidInputException($"{label} is a data: URL without base64 data.");
            }

            payload = payload[(comma + 1)..];
        }

        byte[] bytes = new byte[payload.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64String(payload, bytes, out int written) || written == 0)
        {
            throw new InvalidInputException($"{label} is not base64-encoded image data.");
        }

        return bytes[..written];
    }

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..]
            : path;

    /// <summary>An item by id (digits), by path, or a video moment (path@seconds).</summary>
    private CollectionItem FindItem(IVectorCollection collection, string reference, string label)
    {
        CollectionItem? item = long.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out long id)
            ? collection.Get(id)
            : host.CanReadLocalFiles ? VideoSegmentItems.Resolve(collection, Path.GetFullPath(ExpandHome(reference))) : VideoSegmentItems.Resolve(collection, reference);
        return item ?? throw new InvalidInputException($"{label}: '{ToolArguments.Quote(reference)}' is not in collection '{collection.Name}'.");
    }

    private static SearchFilter? TypeFilter(ToolArguments args) =>
        args.String("type") is { Length: > 0 } type ? new SearchFilter { MediaType = type.Trim().TrimEnd('*') } : null;

    private void WriteHits(Utf8JsonWriter writer, string collection, IReadOnlyList<SearchHit> hits)
    {
        writer.WriteStartArray("results");
        int rank = 1;
        foreach (SearchHit hit in hits)
        {
            CollectionItem item = hit.Item;
            writer.WriteStartObject();
            writer.WriteNumber("rank", rank++);
            writer.WriteNumber("score", hit.Score);
            writer.WriteNumber("id", item.Id);
            if (VideoSegmentItems.TryGetSegment(item, out string video, out double start, out double end))
            {
                writer.WriteString("path", host.DisplayPath(collection, video));
                writer.WriteNumber("start_offset_sec", start);
                writer.WriteNumber("end_offset_sec", end);
                writer.WriteString("item_path", host.DisplayPath(collection, item.Path));
            }
            else
            {
                writer.WriteString("path", host.DisplayPath(collection, item.Path));
            }

            writer.WriteString("media_type", item.MediaType);
            writer.WriteNumber("width", item.Width);
            writer.WriteNumber("height", item.Height);
            writer.WriteNumber("size_bytes", item.SizeBytes);
            if (item.TakenAt is { } taken)
            {
                writer.WriteString("taken_at", taken);
            }

            if (item.Camera is { } camera)
            {
                writer.WriteString("camera", camera);
            }

            writer.WriteString("modified_utc", item.ModifiedUtc);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private void AppendHits(StringBuilder summary, string collection, IReadOnlyList<SearchHit> hits)
    {
        int rank = 1;
        foreach (SearchHit hit in hits)
        {
            string where = VideoSegmentItems.TryGetSegment(hit.Item, out string video, out double start, out double end)
                ? $"{host.DisplayPath(collection, video)} @ {VideoSegmentItems.Time(start)}–{VideoSegmentItems.Time(end)}"
                : host.DisplayPath(collection, hit.Item.Path);
            summary.Append(CultureInfo.InvariantCulture, $"\n{rank++}. {hit.Score:F4}  {where}  (id {hit.Item.Id})");
        }
    }

    private static CallToolResult Result(string text, JsonElement structured) => new()
    {
        Content = [new TextContentBlock { Text = text }],
        StructuredContent = structured,
    };

    private static JsonElement Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        using JsonDocument document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
