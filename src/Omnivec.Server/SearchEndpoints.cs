using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Omnivec.Index;
using Omnivec.Indexing.Classification;

namespace Omnivec.Server;

/// <summary><c>POST /v1/search</c> and <c>POST /v1/classify</c>, each taking JSON or a multipart form with an <c>image</c> file.</summary>
internal sealed class SearchEndpoints(ServerEmbedder embedder, CollectionRegistry collections, ImageUrlFetcher fetcher, OmnivecServerOptions options)
{
    private const int MaxTop = 1000;
    private const int ClassifierCacheSize = 64;
    private const int MaxExpansion = Collection.MaxExpansion;
    private readonly ConcurrentDictionary<string, Lazy<Task<ZeroShotClassifier>>> _classifiers = new(StringComparer.Ordinal);

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
        if (context.Request.HasFormContentType)
        {
            IFormCollection form = await context.Request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
            collectionName = FormValue(form, "collection") ?? options.DefaultCollection;
            text = FormValue(form, "text");
            image = form.Files.GetFile("image") is { } file ? await ReadFileAsync(file, cancellationToken).ConfigureAwait(false) : null;
            itemId = FormValue(form, "item_id") is { } idText ? ParseLong(idText, "item_id") : null;
            top = FormValue(form, "top_k") is { } topText ? (int)ParseLong(topText, "top_k", 1, MaxTop) : 10;
            ef = FormValue(form, "ef") is { } efText ? (int)ParseLong(efText, "ef", 1, MaxExpansion) : null;
            filter = null;
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
            image = imageText is null ? null : await ImageSources.ReadAsync(imageText, "'image'", fetcher, cancellationToken).ConfigureAwait(false);
        }

        CheckOneQuery(text, image is not null, itemId);

        IVectorCollection collection = collections.Open(collectionName);
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
                query = await embedder.EmbedImageAsync(embedder.PrepareImage(image!, "'image'").Content, cancellationToken).ConfigureAwait(false);
            }

            hits = collection.Search(query, top, filter, expansion: ef);
        }

        string prefix = "/v1/collections/" + Uri.EscapeDataString(collection.Name) + "/items/";
        SigmoidScoreCalibration? calibration = text is not null ? embedder.Calibration : null;
        SearchResult[] results = hits.Select(h => new SearchResult(h.Item.Id, h.Score, h.Item.Path,
            h.Item.Extra is { } extra && extra.TryGetValue("name", out string? name) ? name : Path.GetFileName(h.Item.Path), h.Item.MediaType, h.Item.Width, h.Item.Height,
            h.Item.SizeBytes, h.Item.TakenAt, prefix + h.Item.Id.ToString(CultureInfo.InvariantCulture) + "/thumbnail",
            calibration?.Probability(h.Score))).ToArray();
        return TypedResults.Ok(new SearchResponse(collection.Name, results));
    }

    public async Task<IResult> ClassifyAsync(HttpContext context)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        byte[]? image;
        string[] labels;
        string templates;
        if (context.Request.HasFormContentType)
        {
            IFormCollection form = await context.Request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
            image = form.Files.GetFile("image") is { } file ? await ReadFileAsync(file, cancellationToken).ConfigureAwait(false) : null;
            labels = (FormValue(form, "labels") ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            templates = FormValue(form, "templates") ?? "imagenet";
        }
        else
        {
            using JsonDocument document = await JsonRequest.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
            JsonElement root = document.RootElement;
            string? imageText = JsonRequest.String(root, "image");
            image = imageText is null ? null : await ImageSources.ReadAsync(imageText, "'image'", fetcher, cancellationToken).ConfigureAwait(false);
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
            _ => throw ApiException.BadRequest($"'templates' must be \"imagenet\" or \"simple\"; got \"{templates}\"."),
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

        foreach (string label in labels)
        {
            embedder.CheckText(label, $"label '{(label.Length > 40 ? label[..40] + "…" : label)}'");
        }

        Task<float[]> imageTask = embedder.EmbedImageAsync(embedder.PrepareImage(image, "'image'").Content, cancellationToken);
        ZeroShotClassifier classifier = await GetClassifierAsync(labels, templates.ToLowerInvariant(), templateList, cancellationToken).ConfigureAwait(false);
        float[] vector = await imageTask.ConfigureAwait(false);
        ClassifyLabel[] scores = classifier.Classify(vector).Select(s => new ClassifyLabel(s.Label, s.Probability, s.Similarity)).ToArray();
        return TypedResults.Ok(new ClassifyResponse(scores));
    }

    /// <summary>Class embeddings cost one text run per label and template, so they are kept per label set.</summary>
    private async Task<ZeroShotClassifier> GetClassifierAsync(string[] labels, string templateName, IReadOnlyList<string> templates, CancellationToken cancellationToken)
    {
        string key = templateName + "\u0001" + string.Join('\u0001', labels);
        if (_classifiers.Count >= ClassifierCacheSize && !_classifiers.ContainsKey(key))
        {
            _classifiers.Clear(); // crude but bounded; label sets rarely change in one session
        }

        var lazy = _classifiers.GetOrAdd(key, _ => new Lazy<Task<ZeroShotClassifier>>(
            () => ZeroShotClassifier.CreateAsync(embedder.Text, labels, templates, cancellationToken: CancellationToken.None)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _classifiers.TryRemove(KeyValuePair.Create(key, lazy));
            throw;
        }
    }

    private static string[] ParseLabels(JsonElement root)
    {
        if (!root.TryGetProperty("labels", out JsonElement labels) || labels.ValueKind == JsonValueKind.Null)
        {
            throw ApiException.BadRequest("'labels' is required: an array of at least two strings.");
        }

        if (labels.ValueKind == JsonValueKind.String)
        {
            return labels.GetString()!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        }

        if (labels.ValueKind != JsonValueKind.Array)
        {
            throw JsonRequest.WrongType("labels", "an array of strings", labels);
        }

        return labels.EnumerateArray().Select((l, i) => l.ValueKind == JsonValueKind.String ? l.GetString()! : throw JsonRequest.WrongType($"labels[{i}]", "a string", l)).ToArray();
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
            : throw ApiException.BadRequest($"'{name}' must be an integer between {min} and {max}; got '{text}'.");
}
