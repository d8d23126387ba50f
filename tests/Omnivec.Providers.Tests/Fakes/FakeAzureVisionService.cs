using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Omnivec.Providers.Tests.Fakes;

/// <summary>
/// A strict stand-in for Azure AI Vision's retrieval:vectorizeImage and retrieval:vectorizeText (api-version 2024-02-01).
/// Enforces query parameters, content types, JSON shape (unknown fields rejected), the key or bearer token, text of
/// 1–70 words and image limits (under 20 MB, 10–16000 px a side, read from the header), answering with Azure's error
/// bodies. Vectors are 1024-d and deterministic: <see cref="FakeServiceBase.RawVector"/>(TextSeed(text, version), 1024), etc.
/// </summary>
public sealed class FakeAzureVisionService : FakeServiceBase
{
    public const string DefaultApiKey = "fake-azure-vision-key-7d3e9b";
    public const string DefaultBearerToken = "fake-entra-token-41aa";
    public static readonly string[] ModelVersions = ["2022-04-11", "2023-04-15"];

    /// <summary>Accepted as Ocp-Apim-Subscription-Key.</summary>
    public string ApiKey { get; set; } = DefaultApiKey;

    /// <summary>Accepted as "Authorization: Bearer …".</summary>
    public string BearerToken { get; set; } = DefaultBearerToken;

    /// <summary>When set, answers with this modelVersion whatever was asked (to test that clients refuse a silent switch).</summary>
    public string? ForceModelVersion { get; set; }

    public static string TextSeed(string text, string modelVersion) => $"azure-text|{modelVersion}|{text}";
    public static string ImageSeed(ReadOnlySpan<byte> bytes, string modelVersion) => $"azure-image|{modelVersion}|{Hash(bytes)}";
    public static string UrlSeed(string url, string modelVersion) => $"azure-url|{modelVersion}|{url}";

    private sealed class Failure(int status, string code, string inner, string message) : Exception(message)
    {
        public int Status { get; } = status;
        public string Code { get; } = code;
        public string Inner { get; } = inner;
    }

    protected override async Task HandleAsync(HttpContext context, byte[] body)
    {
        HttpRequest request = context.Request;
        string path = request.Path.Value ?? "";
        bool image = path == "/computervision/retrieval:vectorizeImage";
        bool text = path == "/computervision/retrieval:vectorizeText";
        if (!(image || text) || !HttpMethods.IsPost(request.Method))
        {
            await WriteErrorAsync(context.Response, 404, "404", "Resource not found");
            return;
        }

        string key = request.Headers["Ocp-Apim-Subscription-Key"].ToString();
        string auth = request.Headers.Authorization.ToString();
        if (!(key.Length > 0 && key == ApiKey) && !(key.Length == 0 && auth == "Bearer " + BearerToken))
        {
            await WriteErrorAsync(context.Response, 401, "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.");
            return;
        }

        try
        {
            string version = CheckQuery(request.Query);
            string seed = image ? VectorizeImage(request, body, version) : VectorizeText(request, body, version);
            string answered = ForceModelVersion ?? version;
            await WriteJsonAsync(context.Response, 200, w =>
            {
                w.WriteStartObject();
                w.WriteString("modelVersion", answered);
                w.WriteStartArray("vector");
                foreach (float x in RawVector(seed, 1024))
                {
                    w.WriteNumberValue(x);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            });
        }
        catch (Failure f)
        {
            await WriteJsonAsync(context.Response, f.Status, w =>
            {
                w.WriteStartObject();
                w.WriteStartObject("error");
                w.WriteString("code", f.Code);
                w.WriteString("message", f.Message);
                w.WriteStartObject("innererror");
                w.WriteString("code", f.Inner);
                w.WriteString("message", f.Message);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            });
        }
    }

    private static string CheckQuery(IQueryCollection query)
    {
        foreach (string name in query.Keys)
        {
            if (name is not ("api-version" or "model-version"))
            {
                throw new Failure(400, "InvalidRequest", "InvalidArgument", $"Query parameter '{name}' is not supported.");
            }
        }

        if (query["api-version"].ToString() != "2024-02-01")
        {
            throw new Failure(400, "InvalidRequest", "InvalidArgument", $"api-version '{query["api-version"]}' is not supported; use 2024-02-01.");
        }

        string version = query["model-version"].ToString();
        if (!ModelVersions.Contains(version))
        {
            throw new Failure(400, "InvalidRequest", "InvalidModelVersion", $"model-version '{version}' is not supported.");
        }

        return version;
    }

    private static string VectorizeText(HttpRequest request, byte[] body, string version)
    {
        if (request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
        {
            throw new Failure(415, "InvalidRequest", "UnsupportedMediaType", $"Content type '{request.ContentType}' is not supported; send application/json.");
        }

        JsonElement root = ParseObject(body, "text");
        if (!root.TryGetProperty("text", out JsonElement t) || t.ValueKind != JsonValueKind.String)
        {
            throw new Failure(400, "InvalidRequest", "InvalidArgument", "The request body needs a 'text' string.");
        }

        string text = t.GetString()!;
        int words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (words is < 1 or > 70)
        {
            throw new Failure(400, "InvalidRequest", "InvalidArgument", $"The text has {words} words; it must have 1 to 70 words.");
        }

        return TextSeed(text, version);
    }

    private static string VectorizeImage(HttpRequest request, byte[] body, string version)
    {
        string contentType = request.ContentType ?? "";
        if (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            JsonElement root = ParseObject(body, "url");
            if (!root.TryGetProperty("url", out JsonElement u) || u.ValueKind != JsonValueKind.String
                || !Uri.TryCreate(u.GetString(), UriKind.Absolute, out Uri? url) || (url.Scheme != "https" && url.Scheme != "http"))
            {
                throw new Failure(400, "InvalidRequest", "InvalidImageUrl", "The request body needs an absolute http(s) 'url'.");
            }

            return UrlSeed(u.GetString()!, version);
        }

        if (!contentType.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase))
        {
            throw new Failure(415, "InvalidRequest", "UnsupportedMediaType", $"Content type '{contentType}' is not supported; send application/octet-stream or application/json.");
        }

        if (body.Length == 0 || body.Length >= 20 * 1024 * 1024)
        {
            throw new Failure(400, "InvalidRequest", "InvalidImageSize", "The image must be larger than 0 bytes and smaller than 20 MB.");
        }

        (int w, int h) = Dimensions(body);
        if (w == 0)
        {
            throw new Failure(400, "InvalidRequest", "InvalidImageFormat", "The image format is not supported.");
        }

        if (w is < 10 or > 16000 || h is < 10 or > 16000)
        {
            throw new Failure(400, "InvalidRequest", "InvalidImageDimension", $"The image is {w}x{h}; it must be between 10x10 and 16000x16000 pixels.");
        }

        return ImageSeed(body, version);
    }

    private static JsonElement ParseObject(byte[] body, string onlyKey)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new Failure(400, "InvalidRequest", "InvalidArgument", "The request body must be a JSON object.");
            }

            if (!OnlyKeys(doc.RootElement, out string? unknown, onlyKey))
            {
                throw new Failure(400, "InvalidRequest", "InvalidArgument", $"Unknown field '{unknown}' in the request body.");
            }

            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new Failure(400, "InvalidRequest", "InvalidArgument", "The request body is not valid JSON.");
        }
    }

    /// <summary>Width and height from a PNG, JPEG, GIF or BMP header (the formats the tests send); 0 when unreadable.</summary>
    private static (int, int) Dimensions(byte[] b)
    {
        if (b.Length >= 24 && b[0] == 0x89 && Encoding.ASCII.GetString(b, 12, 4) == "IHDR")
        {
            return ((int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(16)), (int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(20)));
        }

        if (b.Length >= 10 && Encoding.ASCII.GetString(b, 0, 4) == "GIF8")
        {
            return (BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(6)), BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(8)));
        }

        if (b.Length >= 26 && b[0] == (byte)'B' && b[1] == (byte)'M')
        {
            return (BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(18)), Math.Abs(BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(22))));
        }

        if (b.Length >= 4 && b[0] == 0xFF && b[1] == 0xD8)
        {
            for (int i = 2; i + 9 < b.Length;)
            {
                if (b[i] != 0xFF)
                {
                    return (0, 0);
                }

                byte m = b[i + 1];
                if (m is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
                {
                    return (BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(i + 7)), BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(i + 5)));
                }

                i += m is 0x01 or (>= 0xD0 and <= 0xD8) ? 2 : 2 + BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(i + 2));
            }
        }

        return (0, 0);
    }

    /// <summary>Azure's error body: {"error":{"code":"…","message":"…"}}.</summary>
    protected override Task WriteErrorAsync(HttpResponse response, int status, string code, string message) =>
        WriteJsonAsync(response, status, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("code", code);
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteEndObject();
        });
}
