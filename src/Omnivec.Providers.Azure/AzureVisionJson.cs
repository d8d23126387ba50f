using System.Text.Json;
using System.Text.Json.Serialization;

namespace Omnivec.Providers.Azure;

internal sealed class VectorizeTextRequest
{
    public required string Text { get; init; }
}

internal sealed class VectorizeUrlRequest
{
    public required string Url { get; init; }
}

internal sealed class VectorizeResponse
{
    public string? ModelVersion { get; init; }
    public float[]? Vector { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(VectorizeTextRequest))]
[JsonSerializable(typeof(VectorizeUrlRequest))]
[JsonSerializable(typeof(VectorizeResponse))]
internal sealed partial class AzureVisionJsonContext : JsonSerializerContext;

internal static class AzureErrorBody
{
    /// <summary>Reads the error object of {"error":{"code":"InvalidRequest","message":"…","innererror":{"code":"…"}}}; an inner code is appended.</summary>
    public static (string? Code, string? Message) Read(JsonElement error)
    {
        string? code = error.TryGetProperty("code", out JsonElement c) ? c.ToString() : null;
        string? message = error.TryGetProperty("message", out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        if (error.TryGetProperty("innererror", out JsonElement inner) && inner.ValueKind == JsonValueKind.Object
            && inner.TryGetProperty("code", out JsonElement ic) && ic.ValueKind == JsonValueKind.String)
        {
            code = code is null ? ic.GetString() : $"{code}/{ic.GetString()}";
            if (inner.TryGetProperty("message", out JsonElement im) && im.ValueKind == JsonValueKind.String && im.GetString() is { Length: > 0 } innerMessage
                && !string.Equals(innerMessage, message, StringComparison.Ordinal))
            {
                message = message is null ? innerMessage : $"{message} {innerMessage}";
            }
        }

        return (code, message);
    }
}
