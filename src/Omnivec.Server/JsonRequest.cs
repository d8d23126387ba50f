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

        return value.ValueKind == JsonValueKind.String ? Text(value, name) : throw WrongType(name, "a string", value);
    }

    /// <summary>The string value of <paramref name="value"/>; a lone surrogate escape or invalid UTF-8 in it is a 400, not a crash.</summary>
    public static string Text(JsonElement value, string name)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw ApiException.BadRequest($"'{name}' is not valid text: it holds invalid UTF-8 or an unpaired UTF-16 surrogate escape (like \\ud800).");
        }
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
            : throw ApiException.BadRequest($"'{name}' must be an ISO 8601 date or time, like 2024-05-01 or 2024-05-01T12:00:00Z; got '{ApiException.Quote(text)}'.");
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

/// <summary>Reads a multipart or urlencoded form; a malformed body (truncated, garbage, a bad boundary) is a 400 that says so.</summary>
internal static class FormRequest
{
    public static async Task<IFormCollection> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
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
