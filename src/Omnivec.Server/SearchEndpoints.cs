using System.Globalization;
using Microsoft.AspNetCore.Http;
using Omnivec.Index;
using Microsoft.Extensions.AI;
using Omnivec.Indexing;
using Omnivec.Indexing.Classification;
using Omnivec.Indexing.Query;

namespace Omnivec.Server;

/// <summary><c>POST /v1/search</c> and <c>POST /v1/classify</c>, each taking JSON or a multipart form with an <c>image</c> file.</summary>
internal sealed class SearchEndpoints(ServerEmbedder embedder, CollectionRegistry collections, ImageUrlFetcher fetcher, ContentUrls contentUrls, OmnivecServerOptions options)
{
    private const int MaxTop = 1000;
    private const int MaxExpansion = Collection.MaxExpansion;

    public async Task<IResult> SearchAsync(HttpContext context)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        var budget = new RequestBudget(options);
        SearchRequest request;
        byte[]? image = null;
        byte[]? audio = null;
        if (context.Request.HasFormContentType)
        {
            IFormCollection form = await FormRequest.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
            request = new SearchRequest(
                Collection: FormValue(form, "collection"),
                Text: FormValue(form, "text"),
                Image: null,
                ItemId: FormValue(form, "item_id") is { } idText ? ParseLong(idText, "item_id") : null,
                TopK: FormValue(form, "top_k") is { } topText ? (int)ParseLong(topText, "top_k", 1, MaxTop) : null,
                Ef: FormValue(form, "ef") is { } efText ? (int)ParseLong(efText, "ef", 1, MaxExpansion) : null,
                Filter: FormValue(form, "filter") is { } filterJson ? JsonRequest.ParseField(filterJson, "filter", RequestJsonContext.Default.SearchFilterRequest) : null)
            {
                MinScore = FormValue(form, "min_score") is { } minText ? ParseScore(minText) : null,
                All = FormValue(form, "all") is { } allText ? ParseBool(allText, "all") : null,
                Sort = FormValue(form, "sort"),
                Language = FormValue(form, "language"),
                Mode = FormValue(form, "mode"),
            };
            image = form.Files.GetFile("image") is { } file ? await ReadFileAsync(file, cancellationToken).ConfigureAwait(false) : null;
            audio = form.Files.GetFile("audio") is { } recording ? await ReadFileAsync(recording, cancellationToken).ConfigureAwait(false) : null;
        }
        else
        {
            request = await JsonRequest.ReadAsync(context.Request, RequestJsonContext.Default.SearchRequest, cancellationToken).ConfigureAwait(false);
        }

        string collectionName = request.Collection ?? options.DefaultCollection;
        string? text = request.Text;
        long? itemId = request.ItemId;
        int top = CheckRange(request.TopK, "top_k", 1, MaxTop) ?? 10;
        int? ef = CheckRange(request.Ef, "ef", 1, MaxExpansion);
        SearchFilter? filter = ToFilter(request.Filter);
        string? language = embedder.ResolveLanguage(request.Language);
        bool single = request.Query is null;
        if (single)
        {
            CheckOneQuery(text, image is not null || request.Image is not null, audio is not null || request.Audio is not null, itemId);
        }
        else if (text is not null || image is not null || request.Image is not null || audio is not null || request.Audio is not null || itemId is not null)
        {
            throw ApiException.BadRequest("Give either 'query' (a list of terms) or one of 'text', 'image', 'audio' or 'item_id', not both.");
        }

        if (request.Audio is string audioText)
        {
            audio = ImageSources.ReadInline(audioText, "'audio'", "data:audio/wav;base64,…");
        }

        if (audio is not null && !embedder.EmbedsAudio)
        {
            throw ApiException.BadRequest(
                $"'audio': this server's model ({embedder.Space.ModelId}) does not embed audio; serve an audio model such as Xenova/clap-htsat-unfused to search by a recording.");
        }

        if (request.MinScore is float min && !(min >= -1f && min <= 1f))
        {
            throw ApiException.BadRequest($"'min_score' must be between -1 and 1; got {min.ToString(CultureInfo.InvariantCulture)}.");
        }

        var ranking = new RankedSearchOptions
        {
            Top = top,
            Filter = filter,
            Expansion = ef,
            MinScore = request.MinScore,
            // The single-term forms answer with the nearest items, as they always did, unless asked to cut; 'query' cuts like the CLI.
            AutomaticCutoff = !(request.All ?? single),
            Order = request.Sort is { } sort ? RankedSearchOptions.ParseOrder(sort, "'sort'") : ResultOrder.Score,
            PerVideo = CheckRange(request.PerVideo, "per_video", 1, MaxTop),
            Retrieval = request.Mode is { } mode ? RankedSearchOptions.ParseRetrieval(mode, "'mode'") : RetrievalMode.Hybrid,
        };

        // Terms that need the network or the disk are read before the collection is held.
        var terms = new List<QueryTerm>();
        if (single)
        {
            if (text is not null)
            {
                embedder.CheckText(text, "'text'");
                terms.Add(QueryTerm.ForText(text));
            }
            else if (itemId is long id)
            {
                terms.Add(QueryTerm.ForItem(id));
            }
            else if (audio is not null)
            {
                terms.Add(QueryTerm.ForAudio(audio, "audio"));
            }
            else
            {
                image ??= await ImageSources.ReadAsync(request.Image!, "'image'", fetcher, budget, cancellationToken).ConfigureAwait(false);
                terms.Add(QueryTerm.ForImage(image, "image"));
            }
        }
        else
        {
            if (request.Query!.Count == 0)
            {
                throw ApiException.BadRequest("'query' has no terms; give at least one {\"text\"|\"image\"|\"audio\"|\"item_id\": …}.");
            }

            if (request.Query.Count > SearchQuery.MaxTerms)
            {
                throw ApiException.BadRequest($"'query' has {request.Query.Count} terms; the limit is {SearchQuery.MaxTerms}.");
            }

            for (int i = 0; i < request.Query.Count; i++)
            {
                QueryTermRequest term = request.Query[i];
                string label = $"'query[{i}]'";
                float weight = term.Weight ?? 1f;
                if (term.Text is { } words)
                {
                    embedder.CheckText(words, $"'query[{i}].text'");
                    terms.Add(QueryTerm.ForText(words, weight));
                }
                else if (term.ItemId is long termItem)
                {
                    string factor = weight == 1f ? "" : weight == -1f ? "-" : weight.ToString("0.###", CultureInfo.InvariantCulture) + " × ";
                    terms.Add(QueryTerm.ForItem(termItem, weight, $"{factor}item {termItem} (query[{i}])"));
                }
                else if (term.Audio is { } recording)
                {
                    byte[] bytes = ImageSources.ReadInline(recording, $"'query[{i}].audio'", "data:audio/wav;base64,…");
                    if (!embedder.EmbedsAudio)
                    {
                        throw ApiException.BadRequest(
                            $"'query[{i}].audio': this server's model ({embedder.Space.ModelId}) does not embed audio; serve an audio model such as Xenova/clap-htsat-unfused to search by a recording.");
                    }

                    terms.Add(QueryTerm.ForAudio(bytes, $"query[{i}].audio", weight));
                }
                else
                {
                    byte[] bytes = await ImageSources.ReadAsync(term.Image!, $"'query[{i}].image'", fetcher, budget, cancellationToken).ConfigureAwait(false);
                    terms.Add(QueryTerm.ForImage(bytes, $"query[{i}].image", weight));
                }
            }
        }

        // Images are checked (format, pixel limits) before anything is opened or embedded.
        var prepared = new Dictionary<QueryTerm, DataContent>(ReferenceEqualityComparer.Instance);
        foreach (QueryTerm term in terms.Where(t => t.Kind == QueryTermKind.Image))
        {
            string label = "'" + term.ImageName + "'";
            var checkedImage = embedder.PrepareImage(term.Image, label);
            budget.AddPixels(checkedImage.Info, label);
            prepared[term] = checkedImage.Content;
        }

        var searchQuery = new SearchQuery(terms);
        using CollectionRegistry.CollectionLease lease = collections.Open(collectionName);
        IVectorCollection collection = lease.Collection;
        if (single && itemId is long only && collection.Get(only) is null)
        {
            throw ApiException.NotFound($"Collection '{collection.Name}' has no item {only}.");
        }

        if (terms.Any(t => t.Kind != QueryTermKind.Item))
        {
            collection.Space.EnsureCompatibleWith(embedder.Space);
        }

        ComposedQuery composed = await searchQuery.ComposeAsync(collection,
            (words, ct) => embedder.EmbedTextAsync(ServerEmbedder.InLanguage(words, language), ct),
            // A recording searches by the normalised mean of its windows, as the CLI's search --audio does.
            async (term, ct) => term.Kind == QueryTermKind.Audio
                ? ServerEmbedder.Pool(await embedder.EmbedMediaAsync(term.Audio, isVideo: false, "'audio'", ct).ConfigureAwait(false))
                : await embedder.EmbedImageAsync(prepared[term], ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
        RankedSearchResult found = RankedSearch.Run(collection, composed, ranking);

        string prefix = "/v1/collections/" + Uri.EscapeDataString(collection.Name) + "/items/";
        // A match probability only makes sense for one description (sigmoid-trained models).
        SigmoidScoreCalibration? calibration = terms is [{ Kind: QueryTermKind.Text, Weight: 1f }] ? embedder.Calibration : null;
        SearchResult[] results = found.Hits
            .Select(h => ToResult(h, collection.Name, prefix, calibration) with { TextMatch = found.TextMatches.Contains(h.Item.Id) ? true : null })
            .ToArray();
        return TypedResults.Ok(new SearchResponse(collection.Name, results)
        {
            Query = searchQuery.ToString(),
            NoMatch = found.NoMatch,
            Mode = found.Retrieval.ToString().ToLowerInvariant(),
            Threshold = found.Threshold,
            Passed = found.Threshold is null ? null : found.Passed,
        });
    }

    /// <summary>A hit as the API shows it; a video segment names its video file and carries the moment's offsets.</summary>
    private SearchResult ToResult(SearchHit hit, string collectionName, string prefix, SigmoidScoreCalibration? calibration)
    {
        CollectionItem item = hit.Item;
        bool segment = VideoSegmentItems.TryGetSegment(item, out string video, out double start, out double end);
        string file = segment ? video : item.Path;
        string itemUrl = prefix + item.Id.ToString(CultureInfo.InvariantCulture);
        return new SearchResult(item.Id, hit.Score, collections.PublicPath(collectionName, file),
            item.Extra is { } extra && extra.TryGetValue("name", out string? name) ? name : Path.GetFileName(file), item.MediaType, item.Width, item.Height,
            item.SizeBytes, item.TakenAt, itemUrl + "/thumbnail", calibration?.Probability(hit.Score))
        {
            StartOffsetSec = segment ? start : null,
            EndOffsetSec = segment ? end : null,
            ContentUrl = contentUrls.For(collectionName, item.Id),
        };
    }

    public async Task<IResult> ClassifyAsync(HttpContext context)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        var budget = new RequestBudget(options);
        byte[]? image;
        IReadOnlyList<string> labels;
        string templates;
        string? language;
        if (context.Request.HasFormContentType)
        {
            IFormCollection form = await FormRequest.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
            language = embedder.ResolveLanguage(FormValue(form, "language"));
            image = form.Files.GetFile("image") is { } file ? await ReadFileAsync(file, cancellationToken).ConfigureAwait(false) : null;
            labels = (FormValue(form, "labels") ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            templates = FormValue(form, "templates") ?? "imagenet";
        }
        else
        {
            ClassifyRequest request = await JsonRequest.ReadAsync(context.Request, RequestJsonContext.Default.ClassifyRequest, cancellationToken).ConfigureAwait(false);
            // An unknown language is refused before an image is fetched or anything is embedded.
            language = embedder.ResolveLanguage(request.Language);
            image = request.Image is null ? null : await ImageSources.ReadAsync(request.Image, "'image'", fetcher, budget, cancellationToken).ConfigureAwait(false);
            labels = request.Labels ?? throw ApiException.BadRequest("'labels' is required: an array of at least two strings.");
            templates = request.Templates ?? "imagenet";
        }

        if (image is null)
        {
            throw ApiException.BadRequest("'image' is required.");
        }

        IReadOnlyList<string> templateList = templates.ToLowerInvariant() switch
        {
            "imagenet" => PromptTemplates.ImageNet,
            "simple" => PromptTemplates.Simple,
            _ => throw ApiException.BadRequest($"'templates' must be \"imagenet\" or \"simple\"; got \"{ApiException.Quote(templates)}\"."),
        };
        string[] distinct = labels.Select(l => l.Trim()).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length < 2)
        {
            throw ApiException.BadRequest("'labels' needs at least two distinct labels.");
        }

        if (distinct.Length > options.MaxItemsPerRequest)
        {
            throw ApiException.BadRequest($"'labels' has {distinct.Length} labels; the limit is {options.MaxItemsPerRequest}.");
        }

        if ((long)distinct.Length * templateList.Count > options.MaxClassifyPrompts)
        {
            throw ApiException.BadRequest(
                $"{distinct.Length} labels × {templateList.Count} templates make {distinct.Length * templateList.Count:N0} prompts; the limit is {options.MaxClassifyPrompts:N0} (MaxClassifyPrompts). Send fewer labels or use \"templates\": \"simple\".");
        }

        foreach (string label in distinct)
        {
            embedder.CheckText(label, $"label '{ApiException.Quote(label, 40)}'");
        }

        var prepared = embedder.PrepareImage(image, "'image'");
        budget.AddPixels(prepared.Info, "'image'");
        Task<float[]> imageTask = embedder.EmbedImageAsync(prepared.Content, cancellationToken);
        // Prompt embeddings come from a cache, so a label set asked for again costs no text run; new prompts are embedded
        // with the request's token, so a client that leaves stops the work it started.
        // A model told its language (NLLB-CLIP) reads each prompt with the language's code in front.
        ZeroShotClassifier classifier = await ZeroShotClassifier.CreateAsync(embedder.Prompts, distinct,
            language is null ? templateList : templateList.Select(t => ServerEmbedder.InLanguage(t, language)).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
        float[] vector = await imageTask.ConfigureAwait(false);
        ClassifyLabel[] scores = classifier.Classify(vector).Select(s => new ClassifyLabel(s.Label, s.Probability, s.Similarity)).ToArray();
        return TypedResults.Ok(new ClassifyResponse(scores));
    }

    private static SearchFilter? ToFilter(SearchFilterRequest? f) => f is null ? null : new SearchFilter
    {
        PathPrefix = f.PathPrefix,
        From = f.From,
        To = f.To,
        MediaType = f.MediaType,
        MinWidth = CheckRange(f.MinWidth, "filter.min_width", 0, int.MaxValue),
        MinHeight = CheckRange(f.MinHeight, "filter.min_height", 0, int.MaxValue),
        MinSizeBytes = f.MinSize is < 0 ? throw ApiException.BadRequest($"'filter.min_size' must be between 0 and {long.MaxValue}; got {f.MinSize}.") : f.MinSize,
    };

    private static int? CheckRange(int? value, string name, int min, int max) =>
        value is not int n || (n >= min && n <= max) ? value : throw ApiException.BadRequest($"'{name}' must be between {min} and {max}; got {n}.");

    private static void CheckOneQuery(string? text, bool hasImage, bool hasAudio, long? itemId)
    {
        if ((text is not null ? 1 : 0) + (hasImage ? 1 : 0) + (hasAudio ? 1 : 0) + (itemId is not null ? 1 : 0) != 1)
        {
            throw ApiException.BadRequest("Give exactly one of 'text', 'image', 'audio' or 'item_id' to search by.");
        }
    }

    internal static string? FormValue(IFormCollection form, string name) =>
        form.TryGetValue(name, out var values) && values.Count > 0 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    internal static async Task<byte[]> ReadFileAsync(IFormFile file, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
        await file.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static float ParseScore(string text) =>
        float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float score) && float.IsFinite(score)
            ? score
            : throw ApiException.BadRequest($"'min_score' must be a number between -1 and 1; got '{ApiException.Quote(text)}'.");

    private static bool ParseBool(string text, string name) => text.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "on" => true,
        "false" or "0" or "off" => false,
        _ => throw ApiException.BadRequest($"'{name}' must be true or false; got '{ApiException.Quote(text)}'."),
    };

    private static long ParseLong(string text, string name, long min = long.MinValue, long max = long.MaxValue) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) && n >= min && n <= max
            ? n
            : throw ApiException.BadRequest($"'{name}' must be an integer between {min} and {max}; got '{ApiException.Quote(text)}'.");
}
