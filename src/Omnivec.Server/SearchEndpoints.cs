using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Omnivec.Index;
using Microsoft.Extensions.AI;
using Omnivec.Indexing.Classification;

namespace Omnivec.Server;

/// <summary><c>POST /v1/search</c> and <c>POST /v1/classify</c>, each taking JSON or a multipart form with an <c>image</c> file.</summary>
internal sealed class SearchEndpoints(ServerEmbedder embedder, CollectionRegistry collections, ImageUrlFetcher fetcher, OmnivecServerOptions options)
{
    private const int MaxTop = 1000;
    private const int MaxExpansion = Collection.MaxExpansion;

    public async Task<IResult> SearchAsync(HttpContext context)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        string collectionName;
        string? text;
        byte[]? image;
        long? itemId;
        int top;
        int? ef;
        SearchFilter? filter;
        var budget = new RequestBudget(options);
        if (context.Request.HasFormContentType)
        {
            IFormCollection form = await FormRequest.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
            collectionName = FormValue(form, "collection") ?? options.DefaultCollection;
            text = FormValue(form, "text");
            image = form.Files.GetFile("image") is { } file ? await ReadFileAsync(file, cancellationToken).ConfigureAwait(false) : null;
            itemId = FormValue(form, "item_id") is { } idText ? ParseLong(idText, "item_id") : null;
            top = FormValue(form, "top_k") is { } topText ? (int)ParseLong(topText, "top_k", 1, MaxTop) : 10;
            ef = FormValue(form, "ef") is { } efText ? (int)ParseLong(efText, "ef", 1, MaxExpansion) : null;
            filter = FormValue(form, "filter") is { } filterJson ? ParseFormFilter(filterJson) : null;
        }
        else
        {
            using JsonDocument document = await JsonRequest.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
            JsonElement root = document.RootElement;
            collectionName = JsonRequest.String(root, "collection") ?? options.DefaultCollection;
            text = JsonRequest.String(root, "text");
            string? imageText = JsonRequest.String(root, "image");
            itemId = JsonRequest.Integer(root, "item_id", long.MinValue, long.MaxValue);
            top = (int)(JsonRequest.Integer(root, "top_k", 1, MaxTop) ?? 10);
            ef = (int?)JsonRequest.Integer(root, "ef", 1, MaxExpansion);
            filter = ParseFilter(root);
            CheckOneQuery(text, imageText is not null, itemId);
            image = imageText is null ? null : await ImageSources.ReadAsync(imageText, "'image'", fetcher, budget, cancellationToken).ConfigureAwait(false);
        }

        CheckOneQuery(text, image is not null, itemId);

        using CollectionRegistry.CollectionLease lease = collections.Open(collectionName);
        IVectorCollection collection = lease.Collection;
        IReadOnlyList<SearchHit> hits;
        if (itemId is long id)
        {
            float[] vector = collection.GetVector(id) ?? throw ApiException.NotFound($"Collection '{collection.Name}' has no item {id}.");
            hits = collection.Search(vector, Math.Min(top + 1, Collection.MaxTop), filter, expansion: ef).Where(h => h.Item.Id != id).Take(top).ToArray();
        }
        else
        {
            collection.Space.EnsureCompatibleWith(embedder.Space);
            float[] query;
            if (text is not null)
            {
                embedder.CheckText(text, "'text'");
                query = await embedder.EmbedTextAsync(text, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var prepared = embedder.PrepareImage(image!, "'image'");
                budget.AddPixels(prepared.Info, "'image'");
                query = await embedder.EmbedImageAsync(prepared.Content, cancellationToken).ConfigureAwait(false);
            }

            hits = collection.Search(query, top, filter, expansion: ef);
        }

        string prefix = "/v1/collections/" + Uri.EscapeDataString(collection.Name) + "/items/";
        SigmoidScoreCalibration? calibration = text is not null ? embedder.Calibration : null;
        SearchResult[] results = hits.Select(h => new SearchResult(h.Item.Id, h.Score, collections.PublicPath(collection.Name, h.Item.Path),
            h.Item.Extra is { } extra && extra.TryGetValue("name", out string? name) ? name : Path.GetFileName(h.Item.Path), h.Item.MediaType, h.Item.Width, h.Item.Height,
            h.Item.SizeBytes, h.Item.TakenAt, prefix + h.Item.Id.ToString(CultureInfo.InvariantCulture) + "/thumbnail",
            calibration?.Probability(h.Score))).ToArray();
        return TypedResults.Ok(new SearchResponse(collection.Name, results));
    }

    public async Task<IResult> ClassifyAsync(HttpContext context)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        var budget = new RequestBudget(options);
        byte[]? image;
        string[] labels;
        string templates;
        if (context.Request.HasFormContentType)
        {
            IFormCollection form = await FormRequest.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
            image = form.Files.GetFile("image") is { } file ? await ReadFileAsync(file, cancellationToken).ConfigureAwait(false) : null;
            labels = (FormValue(form, "labels") ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            templates = FormValue(form, "templates") ?? "imagenet";
        }
        else
        {
            using JsonDocument document = await JsonRequest.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
            JsonElement root = document.RootElement;
            string? imageText = JsonRequest.String(root, "image");
            image = imageText is null ? null : await ImageSources.ReadAsync(imageText, "'image'", fetcher, budget, cancellationToken).ConfigureAwait(false);
            labels = ParseLabels(root);
            templates = JsonRequest.String(root, "templates") ?? "imagenet";
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
        labels = labels.Select(l => l.Trim()).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        if (labels.Length < 2)
        {
            throw ApiException.BadRequest("'labels' needs at least two distinct labels.");
        }

        if (labels.Length > options.MaxItemsPerRequest)
        {
            throw ApiException.BadRequest($"'labels' has {labels.Length} labels; the limit is {options.MaxItemsPerRequest}.");
        }

        if ((long)labels.Length * templateList.Count > options.MaxClassifyPrompts)
        {
            throw ApiException.BadRequest(
                $"{labels.Length} labels × {templateList.Count} templates make {labels.Length * templateList.Count:N0} prompts; the limit is {options.MaxClassifyPrompts:N0} (MaxClassifyPrompts). Send fewer labels or use \"templates\": \"simple\".");
        }

        foreach (string label in labels)
        {
            embedder.CheckText(label, $"label '{ApiException.Quote(label, 40)}'");
        }

        var prepared = embedder.PrepareImage(image, "'image'");
        budget.AddPixels(prepared.Info, "'image'");
        Task<float[]> imageTask = embedder.EmbedImageAsync(prepared.Content, cancellationToken);
        // Prompt embeddings come from a cache, so a label set asked for again costs no text run; new prompts are embedded
        // with the request's token, so a client that leaves stops the work it started.
        ZeroShotClassifier classifier = await ZeroShotClassifier.CreateAsync(embedder.Prompts, labels, templateList, cancellationToken: cancellationToken).ConfigureAwait(false);
        float[] vector = await imageTask.ConfigureAwait(false);
        ClassifyLabel[] scores = classifier.Classify(vector).Select(s => new ClassifyLabel(s.Label, s.Probability, s.Similarity)).ToArray();
        return TypedResults.Ok(new ClassifyResponse(scores));
    }

    private static string[] ParseLabels(JsonElement root)
    {
        if (!root.TryGetProperty("labels", out JsonElement labels) || labels.ValueKind == JsonValueKind.Null)
        {
            throw ApiException.BadRequest("'labels' is required: an array of at least two strings.");
        }

        if (labels.ValueKind == JsonValueKind.String)
        {
            return JsonRequest.Text(labels, "labels").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        }

        if (labels.ValueKind != JsonValueKind.Array)
        {
            throw JsonRequest.WrongType("labels", "an array of strings", labels);
        }

        return labels.EnumerateArray().Select((l, i) => l.ValueKind == JsonValueKind.String ? JsonRequest.Text(l, $"labels[{i}]") : throw JsonRequest.WrongType($"labels[{i}]", "a string", l)).ToArray();
    }

    /// <summary>The <c>filter</c> field of a multipart search: the same JSON object as in a JSON search.</summary>
    private static SearchFilter? ParseFormFilter(string json)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse("{\"filter\":" + json + "}", new JsonDocumentOptions { MaxDepth = 8 });
            return ParseFilter(document.RootElement);
        }
        catch (JsonException)
        {
            throw ApiException.BadRequest("'filter' must be a JSON object, like {\"media_type\":\"image/jpeg\"}; got '" + ApiException.Quote(json) + "'.");
        }
    }

    private static SearchFilter? ParseFilter(JsonElement root)
    {
        if (!root.TryGetProperty("filter", out JsonElement f) || f.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (f.ValueKind != JsonValueKind.Object)
        {
            throw JsonRequest.WrongType("filter", "an object", f);
        }

        return new SearchFilter
        {
            PathPrefix = JsonRequest.String(f, "path_prefix"),
            From = JsonRequest.Date(f, "from"),
            To = JsonRequest.Date(f, "to"),
            MediaType = JsonRequest.String(f, "media_type"),
            MinWidth = (int?)JsonRequest.Integer(f, "min_width", 0, int.MaxValue),
            MinHeight = (int?)JsonRequest.Integer(f, "min_height", 0, int.MaxValue),
            MinSizeBytes = JsonRequest.Integer(f, "min_size", 0, long.MaxValue),
        };
    }

    private static void CheckOneQuery(string? text, bool hasImage, long? itemId)
    {
        if ((text is not null ? 1 : 0) + (hasImage ? 1 : 0) + (itemId is not null ? 1 : 0) != 1)
        {
            throw ApiException.BadRequest("Give exactly one of 'text', 'image' or 'item_id' to search by.");
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

    private static long ParseLong(string text, string name, long min = long.MinValue, long max = long.MaxValue) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) && n >= min && n <= max
            ? n
            : throw ApiException.BadRequest($"'{name}' must be an integer between {min} and {max}; got '{ApiException.Quote(text)}'.");
}
