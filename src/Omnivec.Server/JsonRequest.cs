using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Omnivec.Server;

/// <summary>Reads a JSON body and its members with errors that say which member is wrong and why.</summary>
internal static class JsonRequest
{
    public static async Task<JsonDocument> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength == 0)
        {
            throw ApiException.BadRequest("The request body is empty; send a JSON object.");
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 32 }, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("The body is not valid JSON: " + e.Message);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw ApiException.BadRequest("The body must be a JSON object.");
        }

        return document;
    }

    public static string? String(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw WrongType(name, "a string", value);
    }

    public static long? Integer(JsonElement obj, string name, long min, long max)
    {
        if (!obj.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long n))
        {
            throw WrongType(name, "an integer", value);
        }

        if (n < min || n > max)
        {
            throw ApiException.BadRequest($"'{name}' must be between {min} and {max}; got {n}.");
        }

        return n;
    }

    public static DateTimeOffset? Date(JsonElement obj, string name)
    {
        string? text = String(obj, name);
        if (text is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out DateTimeOffset when)
            ? when
            : throw ApiException.BadRequest($"'{name}' must be an ISO 8601 date or time, like 2024-05-01 or 2024-05-01T12:00:00Z; got '{text}'.");
    }

    public static ApiException WrongType(string name, string expected, JsonElement value) =>
        ApiException.BadRequest($"'{name}' must be {expected}; got {Describe(value.ValueKind)}.");

    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
