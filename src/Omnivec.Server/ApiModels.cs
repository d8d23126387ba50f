using System.Text.Json.Serialization;

namespace Omnivec.Server;

// Response shapes. Property names are written in snake_case by the server's JSON options.

internal sealed record EmbeddingsResponse(string Object, IReadOnlyList<EmbeddingData> Data, string Model, EmbeddingsUsage Usage);

/// <summary>
/// <see cref="Embedding"/> is a float array, or a base64 string of little-endian float32 when asked for. An audio or
/// video input also has its <see cref="Modality"/> and its <see cref="Segments"/> (windows or shots with offsets);
/// its <see cref="Embedding"/> is then the normalised mean of theirs, so OpenAI clients still get one vector per input.
/// </summary>
internal sealed record EmbeddingData(string Object, int Index, object Embedding)
{
    /// <summary>"audio" or "video"; absent for text and images.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Modality { get; init; }

    /// <summary>One embedding per window (audio) or segment (video), in time order.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<EmbeddingSegment>? Segments { get; init; }
}

/// <summary>A window of a recording or a segment of a video: where it starts and ends, in seconds, and its embedding.</summary>
internal sealed record EmbeddingSegment(double StartOffsetSec, double EndOffsetSec, object Embedding);

internal sealed record EmbeddingsUsage(int PromptTokens, int TotalTokens);

/// <summary>
/// The results. no_match: a relevance cutoff applied and nothing passed it (say "no match" rather than show the nearest
/// noise); threshold: the score a result needed (the automatic cutoff or min_score, whichever is higher), when one
/// applied; passed: how many items passed it (can exceed the results returned).
/// </summary>
internal sealed record SearchResponse(string Collection, IReadOnlyList<SearchResult> Results)
{
    /// <summary>The query as understood, e.g. <c>"a beach" - "people" + 0.5 × item 42</c>.</summary>
    public string? Query { get; init; }

    public bool NoMatch { get; init; }

    /// <summary>The retrieval used: hybrid, vector or text (hybrid becomes vector for a query without words).</summary>
    public string? Mode { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public float? Threshold { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Passed { get; init; }
}

/// <summary><see cref="Name"/> is the file name a person knows: the uploaded name, else the last part of the path.
/// <see cref="Probability"/>: for sigmoid-trained models (SigLIP) and text queries, the probability that the text describes the item.</summary>
internal sealed record SearchResult(long Id, float Score, string Path, string Name, string MediaType, int Width, int Height, long SizeBytes,
    DateTimeOffset? TakenAt, string ThumbnailUrl,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] double? Probability = null)
{
    /// <summary>For a video segment: where the moment starts in the file, in seconds (the thumbnail shows its middle).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? StartOffsetSec { get; init; }

    /// <summary>For a video segment: where the moment ends, in seconds.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? EndOffsetSec { get; init; }

    /// <summary>
    /// The original file (a video or recording plays from <see cref="StartOffsetSec"/>), served with HTTP Range; with
    /// API keys it is signed and short-lived, so a player can fetch it without the Authorization header.
    /// </summary>
    public string? ContentUrl { get; init; }

    /// <summary>True when the item's file name, folder, camera or caption contains every word of the query (found by the lexical index).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public bool? TextMatch { get; init; }
}

internal sealed record ClassifyResponse(IReadOnlyList<ClassifyLabel> Labels);

internal sealed record ClassifyLabel(string Label, float Probability, float Similarity);

internal sealed record CollectionSummary(string Name, long Count, string Provider, string Model, string Revision, int Dimensions,
    long BytesOnDisk, DateTimeOffset? UpdatedUtc);

internal sealed record UploadResponse(IReadOnlyList<UploadedItem> Items, IReadOnlyList<UploadError> Errors);

/// <summary>An added item; a video adds one per segment, each with its offsets.</summary>
internal sealed record UploadedItem(long Id, string Path, string Name, int Width, int Height)
{
    /// <summary>image/jpeg, video/mp4, …</summary>
    public string? MediaType { get; init; }

    /// <summary>For a video segment: where the moment starts, in seconds.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? StartOffsetSec { get; init; }

    /// <summary>For a video segment: where the moment ends, in seconds.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? EndOffsetSec { get; init; }

    /// <summary>The stored file, served with HTTP Range (signed when the server has API keys).</summary>
    public string? ContentUrl { get; init; }
}

internal sealed record UploadError(string Name, string Error);

/// <summary>Liveness: <see cref="Collections"/> is null when the store does not answer (the process is still alive).</summary>
internal sealed record HealthResponse(string Status, string Model, int Dimensions, int? Collections);

/// <summary>One readiness check: "ok", or what is wrong.</summary>
internal sealed record ReadinessCheck(string Status, string Detail);

/// <summary>Readiness: "ready" (200) or "not_ready" (503) with the first <see cref="Reason"/>, and each check.</summary>
internal sealed record ReadinessResponse(string Status, string? Reason, ReadinessCheck Model, ReadinessCheck Store, ReadinessCheck Server);

// Request shapes: the one definition of each JSON body. The endpoints parse with them (RequestJsonContext, whose
// converters name the member that is wrong) and the OpenAPI document is made from them.

/// <summary><see cref="Input"/>: a string, or an array of strings and <c>{"text": …}</c> / <c>{"image": …}</c> objects.</summary>
internal sealed record EmbeddingsRequest(
    [property: JsonConverter(typeof(EmbeddingInputsConverter))] IReadOnlyList<EmbeddingInput>? Input,
    string? Model, string? EncodingFormat, int? Dimensions, string? User)
{
    /// <summary>The language of the texts, for models that take one (NLLB-CLIP): a FLORES-200 code (deu_Latn) or a language code (de, zh-TW); ignored by models that read any language.</summary>
    public string? Language { get; init; }
}

/// <summary>
/// One input: exactly one of a text, an image (base64, a data URL or an http(s) URL), a recording (<see cref="Audio"/>:
/// base64 or a data URL) or a video (<see cref="Video"/>: base64 or a data URL).
/// </summary>
internal sealed record EmbeddingInput(string? Text, string? Image)
{
    /// <summary>A recording in any format FFmpeg reads, base64 or a data: URL; needs an audio model (CLAP).</summary>
    public string? Audio { get; init; }

    /// <summary>A video, base64 or a data: URL: its segments with an image model, its soundtrack's windows with an audio model.</summary>
    public string? Video { get; init; }
}

/// <summary>
/// Search by one of text, image, audio (a recording, with an audio model) or item_id, or by query: a weighted sum of terms (each normalised, weighted, summed,
/// normalised again). all: no automatic relevance cutoff (the default for the single-term forms, which keep answering
/// with the nearest items; a query is cut by default, as the CLI does). min_score: an absolute floor on the cosine score.
/// sort: score, date (oldest first), -date (newest first) or path. per_video: at most this many moments of each video.
/// mode: hybrid (default: the vector ranking fused with the lexical index of file names, folders, cameras and captions;
/// an item containing every word of the query passes the cutoff), vector (the embedding only) or text (the lexical index only).
/// </summary>
internal sealed record SearchRequest(string? Collection, string? Text, string? Image, long? ItemId, int? TopK, int? Ef, SearchFilterRequest? Filter)
{
    /// <summary>A recording to search by (base64 or a data: URL); the collection's model must embed audio.</summary>
    public string? Audio { get; init; }

    /// <summary>The terms, e.g. [{"text": "a beach"}, {"text": "people", "weight": -1}, {"item_id": 42, "weight": 0.5}], or one string (a text term).</summary>
    [JsonConverter(typeof(QueryTermsConverter))]
    public IReadOnlyList<QueryTermRequest>? Query { get; init; }

    public float? MinScore { get; init; }

    public bool? All { get; init; }

    public string? Sort { get; init; }

    public int? PerVideo { get; init; }

    /// <summary>The language of the text terms, for models that take one (NLLB-CLIP): a FLORES-200 code (deu_Latn) or a language code (de, zh-TW); ignored by models that read any language.</summary>
    public string? Language { get; init; }

    /// <summary>hybrid (default), vector or text: which rankings the search uses.</summary>
    public string? Mode { get; init; }
}

/// <summary>
/// One term of a query: exactly one of text, image (base64, a data URL or an allowed http(s) URL), audio (a recording,
/// base64 or a data URL; the collection's model must embed audio) or item_id; weight defaults to 1 (negative: "less like this").
/// </summary>
internal sealed record QueryTermRequest(string? Text, string? Image, long? ItemId, float? Weight)
{
    /// <summary>A recording (base64 or a data: URL), embedded as the normalised mean of its windows.</summary>
    public string? Audio { get; init; }
}

internal sealed record SearchFilterRequest(string? PathPrefix, DateTimeOffset? From, DateTimeOffset? To, string? MediaType, int? MinWidth,
    int? MinHeight, long? MinSize);

/// <summary><see cref="Labels"/>: an array of strings, or one string of comma-separated labels.</summary>
internal sealed record ClassifyRequest(string? Image, [property: JsonConverter(typeof(LabelsConverter))] IReadOnlyList<string>? Labels, string? Templates)
{
    /// <summary>The language of the labels, for models that take one (NLLB-CLIP): a FLORES-200 code (deu_Latn) or a language code (de, zh-TW); ignored by models that read any language.</summary>
    public string? Language { get; init; }
}
