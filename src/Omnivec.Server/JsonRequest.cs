using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Omnivec.Server;

/// <summary>
/// Reads a JSON body into its request record (ApiModels.cs) with errors that say which member is wrong and why.
/// The records are the one definition of each body: the endpoints parse with them and the OpenAPI document is made from them.
/// </summary>
internal static class JsonRequest
{
    /// <summary>Reads the body as <typeparamref name="T"/>: invalid JSON, a body that is not an object, and a member of the
    /// wrong type or with invalid text (a lone surrogate escape, invalid UTF-8) are each a 400 that says so.</summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        if (request.ContentLength == 0)
        {
            throw ApiException.BadRequest("The request body is empty; send a JSON object.");
        }

        // The syntax first (a document), so that what the records then refuse is always a member's value, never broken JSON.
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = RequestJsonContext.MaxDepth }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("The body is not valid JSON: " + e.Message);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.BadRequest("The body must be a JSON object.");
            }

            return Deserialize(document.RootElement, type, prefix: "");
        }
    }

    /// <summary>A JSON object sent as a form field (the <c>filter</c> of a multipart search), read as <typeparamref name="T"/>;
    /// errors name its members as <c>'<paramref name="field"/>.member'</c>.</summary>
    public static T ParseField<T>(string json, string field, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = RequestJsonContext.MaxDepth });
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return Deserialize(document.RootElement, type, field + ".");
            }
        }
        catch (JsonException)
        {
            // not JSON at all: the same answer as JSON that is not an object
        }

        throw ApiException.BadRequest($"'{field}' must be a JSON object, like {{\"media_type\":\"image/jpeg\"}}; got '{ApiException.Quote(json)}'.");
    }

    private static T Deserialize<T>(JsonElement element, JsonTypeInfo<T> type, string prefix)
        where T : class
    {
        try
        {
            return element.Deserialize(type)!;
        }
        catch (JsonMemberException e)
        {
            throw ApiException.BadRequest($"'{prefix}{e.Member ?? MemberName(e.Path)}' {e.Message}");
        }
        catch (JsonException e)
        {
            // The leaf types all have converters that explain themselves; what is left is a record given something else.
            throw ApiException.BadRequest($"'{prefix}{MemberName(e.Path)}' must be an object.");
        }
    }

    /// <summary><c>$.filter.min_width</c> → <c>filter.min_width</c>.</summary>
    private static string MemberName(string? path) =>
        path is null || path.Length <= 2 ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path[1..];

    public static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => "null",
    };

    /// <summary>The string at the reader; a lone surrogate escape or invalid UTF-8 in it is a clear error, not a crash.</summary>
    public static string ReadText(ref Utf8JsonReader reader, string? member = null)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw WrongType("a string", reader.TokenType, member);
        }

        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new JsonMemberException("is not valid text: it holds invalid UTF-8 or an unpaired UTF-16 surrogate escape (like \\ud800).", member);
        }
    }

    public static JsonMemberException WrongType(string expected, JsonTokenType token, string? member = null) =>
        new($"must be {expected}; got {Describe(token)}.", member);
}

/// <summary>A member of a request body that cannot be read. <see cref="Exception.Message"/> is the predicate ("must be an integer;
/// got a string."); <see cref="Member"/> names the member when the converter knows better than the serializer's path.</summary>
#pragma warning disable CA1032, RCS1194 // thrown only by the request converters, with these arguments
internal sealed class JsonMemberException(string problem, string? member = null) : JsonException(problem)
#pragma warning restore CA1032, RCS1194
{
    public string? Member { get; } = member;
}

/// <summary>The contracts of the request records, with converters whose errors name the member and say what was wrong.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, MaxDepth = MaxDepth,
    Converters = [typeof(TextConverter), typeof(Int32Converter), typeof(Int64Converter), typeof(SingleConverter), typeof(BooleanConverter), typeof(DateConverter)])]
[JsonSerializable(typeof(EmbeddingsRequest))]
[JsonSerializable(typeof(SearchRequest))]
[JsonSerializable(typeof(ClassifyRequest))]
internal sealed partial class RequestJsonContext : JsonSerializerContext
{
    /// <summary>Deepest nesting a request body may have.</summary>
    public const int MaxDepth = 32;
}

internal sealed class TextConverter : JsonConverter<string>
{
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => JsonRequest.ReadText(ref reader);

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

internal sealed class Int64Converter : JsonConverter<long>
{
    public override long Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long n) ? n : throw JsonRequest.WrongType("an integer", reader.TokenType);

    public override void Write(Utf8JsonWriter writer, long value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}

internal sealed class Int32Converter : JsonConverter<int>
{
    public override int Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long n))
        {
            throw JsonRequest.WrongType("an integer", reader.TokenType);
        }

        return n is >= int.MinValue and <= int.MaxValue ? (int)n : throw new JsonMemberException($"must be between {int.MinValue} and {int.MaxValue}; got {n}.");
    }

    public override void Write(Utf8JsonWriter writer, int value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}

internal sealed class SingleConverter : JsonConverter<float>
{
    public override float Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out double n) && double.IsFinite(n) && Math.Abs(n) <= float.MaxValue
            ? (float)n
            : throw JsonRequest.WrongType("a number", reader.TokenType);

    public override void Write(Utf8JsonWriter writer, float value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}

internal sealed class BooleanConverter : JsonConverter<bool>
{
    public override bool Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw JsonRequest.WrongType("true or false", reader.TokenType),
    };

    public override void Write(Utf8JsonWriter writer, bool value, JsonSerializerOptions options) => writer.WriteBooleanValue(value);
}

/// <summary>An ISO 8601 date or time (a date alone is midnight UTC).</summary>
internal sealed class DateConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        string text = JsonRequest.ReadText(ref reader);
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset when)
            ? when
            : throw new JsonMemberException($"must be an ISO 8601 date or time, like 2024-05-01 or 2024-05-01T12:00:00Z; got '{ApiException.Quote(text)}'.");
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>The <c>input</c> of an embeddings request: a string, or an array of strings and <c>{"text": …}</c> / <c>{"image": …}</c> objects.
/// Token ids (numbers, arrays of numbers) are refused: this server tokenizes for its own model.</summary>
internal sealed class EmbeddingInputsConverter : JsonConverter<IReadOnlyList<EmbeddingInput>>
{
    public override IReadOnlyList<EmbeddingInput> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return [new EmbeddingInput(JsonRequest.ReadText(ref reader), null)];
            case JsonTokenType.StartArray:
                var inputs = new List<EmbeddingInput>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    inputs.Add(ReadItem(ref reader, $"input[{inputs.Count}]"));
                }

                return inputs;
            default:
                throw JsonRequest.WrongType("a string, an array of strings, or an array of {\"text\": …} / {\"image\": …} objects", reader.TokenType);
        }
    }

    private static EmbeddingInput ReadItem(ref Utf8JsonReader reader, string member)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return new EmbeddingInput(JsonRequest.ReadText(ref reader, member), null);
            case JsonTokenType.Number:
            case JsonTokenType.StartArray:
                throw new JsonMemberException("holds token ids: token ids are not supported; this server tokenizes for its own model, so send text as strings.", member);
            case JsonTokenType.StartObject:
                string? text = null, image = null, audio = null, video = null;
                int members = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    string? kind = reader.ValueTextEquals("text"u8) ? "text"
                        : reader.ValueTextEquals("image"u8) ? "image"
                        : reader.ValueTextEquals("audio"u8) ? "audio"
                        : reader.ValueTextEquals("video"u8) ? "video"
                        : null;
                    reader.Read();
                    if (kind is null)
                    {
                        reader.Skip(); // other members (an OpenAI client's extras) are ignored, as in any request
                        continue;
                    }

                    members++;
                    string value = JsonRequest.ReadText(ref reader, member + "." + kind);
                    switch (kind)
                    {
                        case "text": text = value; break;
                        case "image": image = value; break;
                        case "audio": audio = value; break;
                        default: video = value; break;
                    }
                }

                return members == 1
                    ? new EmbeddingInput(text, image) { Audio = audio, Video = video }
                    : throw new JsonMemberException("must have exactly one of \"text\", \"image\", \"audio\" or \"video\".", member);
            default:
                throw JsonRequest.WrongType("a string or an object with \"text\", \"image\", \"audio\" or \"video\"", reader.TokenType, member);
        }
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<EmbeddingInput> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (EmbeddingInput input in value)
        {
            writer.WriteStartObject();
            (string kind, string? text) = input.Text is not null ? ("text", input.Text)
                : input.Image is not null ? ("image", input.Image)
                : input.Audio is not null ? ("audio", input.Audio)
                : ("video", input.Video);
            writer.WriteString(kind, text);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}

/// <summary>The <c>query</c> of a search: an array of terms (<c>{"text"|"image"|"audio"|"item_id": …, "weight": w}</c>), or one string (a text term).
/// Errors name the term (<c>query[1].weight</c>).</summary>
internal sealed class QueryTermsConverter : JsonConverter<IReadOnlyList<QueryTermRequest>>
{
    public override IReadOnlyList<QueryTermRequest> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return [new QueryTermRequest(JsonRequest.ReadText(ref reader, "query"), null, null, null)];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw JsonRequest.WrongType("an array of terms like {\"text\": \"a beach\", \"weight\": 1}", reader.TokenType, "query");
        }

        var terms = new List<QueryTermRequest>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            terms.Add(ReadTerm(ref reader, $"query[{terms.Count}]"));
        }

        return terms;
    }

    private static QueryTermRequest ReadTerm(ref Utf8JsonReader reader, string member)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return new QueryTermRequest(JsonRequest.ReadText(ref reader, member), null, null, null);
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw JsonRequest.WrongType("an object with \"text\", \"image\", \"audio\" or \"item_id\" (and \"weight\")", reader.TokenType, member);
        }

        string? text = null, image = null, audio = null;
        long? itemId = null;
        float? weight = null;
        int kinds = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string name;
            try
            {
                name = reader.GetString() ?? "";
            }
            catch (InvalidOperationException)
            {
                name = "?"; // a name that is not valid text: refused below as unknown
            }

            reader.Read();
            switch (name)
            {
                case "text":
                    text = JsonRequest.ReadText(ref reader, member + ".text");
                    kinds++;
                    break;
                case "image":
                    image = JsonRequest.ReadText(ref reader, member + ".image");
                    kinds++;
                    break;
                case "audio":
                    audio = JsonRequest.ReadText(ref reader, member + ".audio");
                    kinds++;
                    break;
                case "item_id":
                    itemId = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long id) ? id : throw JsonRequest.WrongType("an integer", reader.TokenType, member + ".item_id");
                    kinds++;
                    break;
                case "weight":
                    weight = reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out double w) && double.IsFinite(w) && Math.Abs(w) <= 1e6
                        ? (float)w
                        : throw new JsonMemberException($"must be a number between -1000000 and 1000000; got {JsonRequest.Describe(reader.TokenType)}.", member + ".weight");
                    break;
                default:
                    throw new JsonMemberException($"is not part of a query term ('{ApiException.Quote(name, 40)}'); a term has one of \"text\", \"image\", \"audio\" or \"item_id\", and \"weight\".", member);
            }
        }

        return kinds == 1
            ? new QueryTermRequest(text, image, itemId, weight) { Audio = audio }
            : throw new JsonMemberException("must have exactly one of \"text\", \"image\", \"audio\" or \"item_id\".", member);
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<QueryTermRequest> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (QueryTermRequest term in value)
        {
            writer.WriteStartObject();
            if (term.ItemId is long id)
            {
                writer.WriteNumber("item_id", id);
            }
            else
            {
                writer.WriteString(term.Text is not null ? "text" : term.Audio is not null ? "audio" : "image", term.Text ?? term.Audio ?? term.Image);
            }

            if (term.Weight is float weight)
            {
                writer.WriteNumber("weight", weight);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}

/// <summary>The <c>labels</c> of a classify request: an array of strings, or one string of comma-separated labels.</summary>
internal sealed class LabelsConverter : JsonConverter<IReadOnlyList<string>>
{
    public override IReadOnlyList<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return JsonRequest.ReadText(ref reader).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw JsonRequest.WrongType("an array of strings", reader.TokenType);
        }

        var labels = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            labels.Add(JsonRequest.ReadText(ref reader, $"labels[{labels.Count}]"));
        }

        return labels;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (string label in value)
        {
            writer.WriteStringValue(label);
        }

        writer.WriteEndArray();
    }
}

/// <summary>Reads a multipart or urlencoded form; a malformed body (truncated, garbage, a bad boundary) is a 400 that says so.</summary>
internal static class FormRequest
{
    /// <summary>Reads the form; <paramref name="maxBytes"/>, when given, raises this request's body and multipart limits (uploads of videos).</summary>
    public static async Task<IFormCollection> ReadAsync(HttpRequest request, CancellationToken cancellationToken, long? maxBytes = null)
    {
        if (maxBytes is long limit)
        {
            if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = limit;
            }

            var formOptions = new Microsoft.AspNetCore.Http.Features.FormOptions
            {
                MultipartBodyLengthLimit = limit,
                MultipartBoundaryLengthLimit = 70, // as the server's own form options; values keep ASP.NET's 4 MB limit
            };
            request.HttpContext.Features.Set<Microsoft.AspNetCore.Http.Features.IFormFeature>(new Microsoft.AspNetCore.Http.Features.FormFeature(request, formOptions));
        }

        try
        {
            return await request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (BadHttpRequestException)
        {
            throw; // Kestrel's own verdict (413, a body that stopped arriving) keeps its status
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or IOException or FormatException && !cancellationToken.IsCancellationRequested)
        {
            throw ApiException.BadRequest("The multipart form could not be read: " + ApiException.Quote(e.Message, 200));
        }
    }
}
