using System.Text.Json;
using System.Text.Json.Serialization;

namespace Omnivec.Providers.Google;

// Wire shapes of the :predict call for the multimodal embedding model.

internal sealed class PredictRequest
{
    public required IReadOnlyList<PredictInstance> Instances { get; init; }
    public PredictParameters? Parameters { get; init; }
}

internal sealed class PredictInstance
{
    public string? Text { get; init; }
    public MediaInput? Image { get; init; }
    public VideoInput? Video { get; init; }
}

internal sealed class MediaInput
{
    public string? BytesBase64Encoded { get; init; }
    public string? GcsUri { get; init; }
    public string? MimeType { get; init; }
}

internal sealed class VideoInput
{
    public string? BytesBase64Encoded { get; init; }
    public string? GcsUri { get; init; }
    public VideoSegmentConfig? VideoSegmentConfig { get; init; }
}

internal sealed class VideoSegmentConfig
{
    public int? StartOffsetSec { get; init; }
    public int? EndOffsetSec { get; init; }
    public int? IntervalSec { get; init; }
}

internal sealed class PredictParameters
{
    public int? Dimension { get; init; }
}

internal sealed class PredictResponse
{
    public List<Prediction>? Predictions { get; init; }
    public string? DeployedModelId { get; init; }
}

internal sealed class Prediction
{
    public float[]? TextEmbedding { get; init; }
    public float[]? ImageEmbedding { get; init; }
    public List<VideoEmbeddingWire>? VideoEmbeddings { get; init; }
}

internal sealed class VideoEmbeddingWire
{
    public double StartOffsetSec { get; init; }
    public double EndOffsetSec { get; init; }
    public float[]? Embedding { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PredictRequest))]
[JsonSerializable(typeof(PredictResponse))]
internal sealed partial class VertexAIJsonContext : JsonSerializerContext;

internal static class GoogleErrorBody
{
    /// <summary>Reads the error object of {"error":{"code":400,"message":"…","status":"INVALID_ARGUMENT"}}; the status is the error code.</summary>
    public static (string? Code, string? Message) Read(JsonElement error)
    {
        string? status = error.TryGetProperty("status", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        string? message = error.TryGetProperty("message", out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        if (status is null && error.TryGetProperty("code", out JsonElement c))
        {
            status = c.ToString();
        }

        return (status, message);
    }
}
