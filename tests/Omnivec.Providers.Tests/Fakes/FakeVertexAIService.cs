using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Omnivec.Providers.Tests.Fakes;

/// <summary>
/// A strict stand-in for Vertex AI's multimodalembedding@001 :predict endpoint and Google's OAuth token endpoint.
/// It enforces the documented request shape (unknown fields, several instances, bad dimension, wrong content type
/// and missing or wrong bearer tokens are rejected with Google's error body) and answers with deterministic vectors:
/// text "t" at dimension d gets <see cref="FakeServiceBase.RawVector"/>(TextSeed(t), d), and so on.
/// </summary>
public sealed partial class FakeVertexAIService : FakeServiceBase
{
    public const string DefaultProject = "omnivec-test";
    public const string DefaultLocation = "us-central1";
    public const string DefaultModel = "multimodalembedding@001";
    public const string DefaultAccessToken = "ya29.fake-google-access-token-5f1c";
    public static readonly int[] Dimensions = [128, 256, 512, 1408];

    private RSA? _serviceAccountKey;
    private int _tokenRequests;

    public string Project { get; init; } = DefaultProject;
    public string Location { get; init; } = DefaultLocation;

    /// <summary>Options of a client pointed at this fake (started), with the accepted token and short retry delays.</summary>
    public Omnivec.Providers.Google.VertexAIOptions ClientOptions() => new()
    {
        Project = Project,
        Location = Location,
        Endpoint = BaseUri,
        AccessToken = DefaultAccessToken,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
    };

    /// <summary>The only bearer token accepted (and the one the token endpoint issues).</summary>
    public string AccessToken { get; set; } = DefaultAccessToken;

    /// <summary>Length of every video the fake is given when <see cref="ProbeVideos"/> is off; segments never run past it.</summary>
    public int VideoDurationSec { get; set; } = 60;

    /// <summary>
    /// When true, video bytes are written to a file and measured with ffprobe (bytes ffprobe cannot read are refused as
    /// the service refuses undecodable video), and segments stop at the video's real end, rounded to whole seconds.
    /// </summary>
    public bool ProbeVideos { get; set; }

    /// <summary>
    /// What one request analyses at most, from its start offset: 120 s, as documented ("only 2 minutes of content can be
    /// analyzed at a time"; an end offset beyond start + 120 is cut to it). The rest of a longer video is silently left out.
    /// </summary>
    public int AnalysedWindowSec { get; set; } = 120;

    /// <summary>Largest inline video accepted (decoded bytes); a larger one is refused with 400 INVALID_ARGUMENT.</summary>
    public long MaxVideoBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>Every video request handled: inline bytes, measured duration (null without probing) and the window analysed.</summary>
    public ConcurrentQueue<(int Bytes, double? DurationSec, int Start, int End, int Interval)> VideoRequests { get; } = new();

    /// <summary>Token requests served by /token (service-account flow).</summary>
    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    /// <summary>Successful :predict calls.</summary>
    public int PredictCount => Volatile.Read(ref _predictCount);

    private int _predictCount;

    public static string TextSeed(string text, int dimension) => $"text|{dimension}|{text}";
    public static string ImageSeed(ReadOnlySpan<byte> bytes, int dimension) => $"image|{dimension}|{Hash(bytes)}";
    public static string ImageSeed(string gcsUri, int dimension) => $"image|{dimension}|{gcsUri}";
    public static string VideoSeed(ReadOnlySpan<byte> bytes, int start, int end) => $"video|{Hash(bytes)}|{start}-{end}";
    public static string VideoSeed(string gcsUri, int start, int end) => $"video|{gcsUri}|{start}-{end}";

    /// <summary>
    /// Writes a service-account key file whose token_uri points at this fake (call after <see cref="FakeServiceBase.Start"/>);
    /// the fake checks the JWT signed with that key and issues <see cref="AccessToken"/>.
    /// </summary>
    public string WriteServiceAccountKeyFile(string directory)
    {
        _serviceAccountKey ??= RSA.Create(2048);
        string path = Path.Combine(directory, "service-account.json");
        var key = new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["project_id"] = Project,
            ["private_key_id"] = "fake-key-1",
            ["private_key"] = _serviceAccountKey.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = $"omnivec-test@{Project}.iam.gserviceaccount.com",
            ["client_id"] = "1234567890",
            ["token_uri"] = new Uri(BaseUri!, "token").AbsoluteUri,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(key));
        return path;
    }

    [GeneratedRegex(@"^/v1/projects/([^/]+)/locations/([^/]+)/publishers/google/models/([^/:]+):predict$")]
    private static partial Regex PredictPath();

    protected override Task HandleAsync(HttpContext context, byte[] body)
    {
        HttpRequest request = context.Request;
        if (request.Path == "/token")
        {
            return TokenAsync(context, body);
        }

        Match route = PredictPath().Match(request.Path.Value ?? "");
        if (!route.Success || !HttpMethods.IsPost(request.Method))
        {
            return Error(context, 404, "NOT_FOUND", $"The requested URL {request.Path} was not found on this server.");
        }

        if (request.Headers.Authorization.ToString() != "Bearer " + AccessToken)
        {
            return Error(context, 401, "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected an OAuth 2 access token, login cookie or other valid authentication credential.");
        }

        if (route.Groups[1].Value != Project || route.Groups[2].Value != Location)
        {
            return Error(context, 404, "NOT_FOUND", $"Project {route.Groups[1].Value} in location {route.Groups[2].Value} not found or not permitted.");
        }

        if (route.Groups[3].Value != DefaultModel)
        {
            return Error(context, 404, "NOT_FOUND", $"Publisher Model `projects/{Project}/locations/{Location}/publishers/google/models/{route.Groups[3].Value}` not found.");
        }

        if (request.ContentType is not { } ct || !ct.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return Error(context, 400, "INVALID_ARGUMENT", $"Content type '{request.ContentType}' is not supported; send application/json.");
        }

        try
        {
            using JsonDocument doc = JsonDocument.Parse(body);
            return Predict(context, doc.RootElement);
        }
        catch (JsonException ex)
        {
            return Error(context, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. " + ex.Message);
        }
        catch (BadRequest ex)
        {
            return Error(context, 400, "INVALID_ARGUMENT", ex.Message);
        }
    }

    private sealed class BadRequest(string message) : Exception(message);

    private Task Predict(HttpContext context, JsonElement root)
    {
        Require(root.ValueKind == JsonValueKind.Object, "Invalid JSON payload received. The body must be an object.");
        RequireOnly(root, "", "instances", "parameters");
        Require(root.TryGetProperty("instances", out JsonElement instances) && instances.ValueKind == JsonValueKind.Array, "instances is required.");
        Require(instances.GetArrayLength() == 1, $"Only one instance per request is supported; got {instances.GetArrayLength()}.");

        int? dimension = null;
        if (root.TryGetProperty("parameters", out JsonElement parameters))
        {
            Require(parameters.ValueKind == JsonValueKind.Object, "parameters must be an object.");
            RequireOnly(parameters, "parameters.", "dimension");
            if (parameters.TryGetProperty("dimension", out JsonElement d))
            {
                Require(d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out int dv), "parameters.dimension must be an integer.");
                dimension = d.GetInt32();
                Require(Dimensions.Contains(dimension.Value), $"Invalid dimension {dimension}: supported values are 128, 256, 512, 1408.");
            }
        }

        JsonElement instance = instances[0];
        Require(instance.ValueKind == JsonValueKind.Object, "instances[0] must be an object.");
        RequireOnly(instance, "instances[0].", "text", "image", "video");
        Require(instance.EnumerateObject().Any(), "instances[0] must contain text, image or video.");
        int dims = dimension ?? 1408;

        string? textSeed = null, imageSeed = null;
        List<(int Start, int End, string Seed)>? video = null;

        if (instance.TryGetProperty("text", out JsonElement text))
        {
            Require(text.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(text.GetString()), "text must be a non-empty string.");
            textSeed = TextSeed(text.GetString()!, dims);
        }

        if (instance.TryGetProperty("image", out JsonElement image))
        {
            imageSeed = ImageInput(image, dims);
        }

        if (instance.TryGetProperty("video", out JsonElement videoElement))
        {
            Require(dimension is null or 1408, "Video embeddings are only available with dimension 1408.");
            video = VideoSegments(videoElement);
        }

        Interlocked.Increment(ref _predictCount);
        return WriteJsonAsync(context.Response, 200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("predictions");
            w.WriteStartObject();
            if (textSeed is not null)
            {
                WriteVector(w, "textEmbedding", RawVector(textSeed, dims));
            }

            if (imageSeed is not null)
            {
                WriteVector(w, "imageEmbedding", RawVector(imageSeed, dims));
            }

            if (video is not null)
            {
                w.WriteStartArray("videoEmbeddings");
                foreach ((int start, int end, string seed) in video)
                {
                    w.WriteStartObject();
                    w.WriteNumber("startOffsetSec", start);
                    w.WriteNumber("endOffsetSec", end);
                    WriteVector(w, "embedding", RawVector(seed, 1408));
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteString("deployedModelId", "fake-deployed-model");
            w.WriteEndObject();
        });
    }

    private static string ImageInput(JsonElement image, int dims)
    {
        Require(image.ValueKind == JsonValueKind.Object, "image must be an object.");
        RequireOnly(image, "image.", "bytesBase64Encoded", "gcsUri", "mimeType");
        bool hasBytes = image.TryGetProperty("bytesBase64Encoded", out JsonElement b64);
        bool hasUri = image.TryGetProperty("gcsUri", out JsonElement uri);
        Require(hasBytes ^ hasUri, "image needs exactly one of bytesBase64Encoded or gcsUri.");
        if (hasUri)
        {
            Require(uri.ValueKind == JsonValueKind.String && uri.GetString()!.StartsWith("gs://", StringComparison.Ordinal), "image.gcsUri must be a gs:// URI.");
            return ImageSeed(uri.GetString()!, dims);
        }

        byte[] bytes = Base64(b64, "image.bytesBase64Encoded");
        Require(bytes.Length <= 20 * 1024 * 1024, "Image is larger than 20 MB.");
        string? sniffed = Sniff(bytes);
        Require(sniffed is not null, "Unable to decode the image: supported formats are BMP, GIF, JPG and PNG.");
        if (image.TryGetProperty("mimeType", out JsonElement mime))
        {
            Require(mime.ValueKind == JsonValueKind.String && mime.GetString() is "image/jpeg" or "image/png", "image.mimeType must be image/jpeg or image/png.");
            Require(mime.GetString() == sniffed, $"image.mimeType {mime.GetString()} does not match the image data ({sniffed}).");
        }

        return ImageSeed(bytes, dims);
    }

    private List<(int, int, string)> VideoSegments(JsonElement video)
    {
        Require(video.ValueKind == JsonValueKind.Object, "video must be an object.");
        RequireOnly(video, "video.", "bytesBase64Encoded", "gcsUri", "videoSegmentConfig");
        bool hasBytes = video.TryGetProperty("bytesBase64Encoded", out JsonElement b64);
        bool hasUri = video.TryGetProperty("gcsUri", out JsonElement uri);
        Require(hasBytes ^ hasUri, "video needs exactly one of bytesBase64Encoded or gcsUri.");
        byte[]? bytes = null;
        if (hasUri)
        {
            Require(uri.ValueKind == JsonValueKind.String && uri.GetString()!.StartsWith("gs://", StringComparison.Ordinal), "video.gcsUri must be a gs:// URI.");
        }
        else
        {
            bytes = Base64(b64, "video.bytesBase64Encoded");
            Require(bytes.Length > 0, "video.bytesBase64Encoded is empty.");
            Require(bytes.Length <= MaxVideoBytes, $"Request payload size exceeds the limit: {MaxVideoBytes} bytes.");
        }

        int? start = null, end = null;
        int interval = 16;
        if (video.TryGetProperty("videoSegmentConfig", out JsonElement config))
        {
            Require(config.ValueKind == JsonValueKind.Object, "video.videoSegmentConfig must be an object.");
            RequireOnly(config, "video.videoSegmentConfig.", "startOffsetSec", "endOffsetSec", "intervalSec");
            start = Int(config, "startOffsetSec");
            end = Int(config, "endOffsetSec");
            interval = Int(config, "intervalSec") ?? 16;
        }

        Require(start is null or >= 0, "startOffsetSec must not be negative.");
        Require(interval >= 4, $"intervalSec must be at least 4; got {interval}.");
        double? measured = bytes is not null && ProbeVideos ? MeasureDuration(bytes) : null;
        int length = measured is double d ? Math.Max(1, (int)Math.Round(d)) : VideoDurationSec;

        // The documented defaults: start = max(0, end - 120), end = min(length, start + 120); both given: end = min(start + 120, end).
        int from = start ?? (end is int e0 ? Math.Max(0, e0 - AnalysedWindowSec) : 0);
        int stop = Math.Min(Math.Min(end ?? int.MaxValue, from + AnalysedWindowSec), length);
        Require(stop > from, "The requested segment is empty or starts after the end of the video.");
        VideoRequests.Enqueue((bytes?.Length ?? 0, measured, from, stop, interval));

        var segments = new List<(int, int, string)>();
        for (int s = from; s < stop; s += interval)
        {
            int e = Math.Min(s + interval, stop);
            segments.Add((s, e, bytes is null ? VideoSeed(uri.GetString()!, s, e) : VideoSeed(bytes, s, e)));
        }

        return segments;
    }

    /// <summary>The duration of video bytes, by ffprobe on a temporary file; undecodable bytes are a bad request.</summary>
    private static double MeasureDuration(byte[] bytes)
    {
        string file = Path.Combine(Path.GetTempPath(), "fake-vertex-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(file, bytes);
        try
        {
            var info = new ProcessStartInfo("ffprobe") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file })
            {
                info.ArgumentList.Add(a);
            }

            using Process probe = Process.Start(info)!;
            Task<string> stderr = probe.StandardError.ReadToEndAsync();
            string output = probe.StandardOutput.ReadToEnd();
            probe.WaitForExit();
            _ = stderr.Result;
            Require(probe.ExitCode == 0 && double.TryParse(output.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double duration) && duration > 0,
                "Unable to decode the video.");
            return double.Parse(output.Trim(), CultureInfo.InvariantCulture);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private async Task TokenAsync(HttpContext context, byte[] body)
    {
        Interlocked.Increment(ref _tokenRequests);
        if (!HttpMethods.IsPost(context.Request.Method) || _serviceAccountKey is null
            || context.Request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) != true)
        {
            await OAuthError(context, "invalid_request", "POST a form to the token endpoint.");
            return;
        }

        Dictionary<string, string> form = Encoding.UTF8.GetString(body).Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0].Replace('+', ' ')), p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : "");
        if (form.GetValueOrDefault("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || !form.TryGetValue("assertion", out string? jwt))
        {
            await OAuthError(context, "unsupported_grant_type", "Expected a JWT bearer grant.");
            return;
        }

        string[] parts = jwt.Split('.');
        if (parts.Length != 3 || !_serviceAccountKey.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url(parts[2]),
                HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            await OAuthError(context, "invalid_grant", "Invalid JWT Signature.");
            return;
        }

        using JsonDocument claims = JsonDocument.Parse(Base64Url(parts[1]));
        string scope = claims.RootElement.TryGetProperty("scope", out JsonElement s) ? s.GetString() ?? "" : "";
        if (!scope.Split(' ').Contains("https://www.googleapis.com/auth/cloud-platform"))
        {
            await OAuthError(context, "invalid_scope", "The cloud-platform scope is required.");
            return;
        }

        await WriteJsonAsync(context.Response, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("access_token", AccessToken);
            w.WriteNumber("expires_in", 3600);
            w.WriteString("token_type", "Bearer");
            w.WriteEndObject();
        });
    }

    private static Task OAuthError(HttpContext context, string error, string description) =>
        WriteJsonAsync(context.Response, 400, w =>
        {
            w.WriteStartObject();
            w.WriteString("error", error);
            w.WriteString("error_description", description);
            w.WriteEndObject();
        });

    private static byte[] Base64Url(string s)
    {
        string padded = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '='));
    }

    private static byte[] Base64(JsonElement e, string name)
    {
        Require(e.ValueKind == JsonValueKind.String, $"{name} must be a string.");
        try
        {
            return Convert.FromBase64String(e.GetString()!);
        }
        catch (FormatException)
        {
            throw new BadRequest($"{name} is not valid base64.");
        }
    }

    private static int? Int(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement v))
        {
            return null;
        }

        Require(v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out _), $"{name} must be an integer.");
        return v.GetInt32();
    }

    private static string? Sniff(byte[] b) =>
        b.Length >= 8 && b[0] == 0x89 && b[1] == (byte)'P' && b[2] == (byte)'N' && b[3] == (byte)'G' ? "image/png"
        : b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF ? "image/jpeg"
        : b.Length >= 6 && Encoding.ASCII.GetString(b, 0, 4) == "GIF8" ? "image/gif"
        : b.Length >= 2 && b[0] == (byte)'B' && b[1] == (byte)'M' ? "image/bmp"
        : null;

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new BadRequest(message);
        }
    }

    private static void RequireOnly(JsonElement obj, string prefix, params string[] allowed)
    {
        if (!OnlyKeys(obj, out string? unknown, allowed))
        {
            throw new BadRequest($"Invalid JSON payload received. Unknown name \"{unknown}\" at '{prefix}{unknown}': Cannot find field.");
        }
    }

    private static void WriteVector(Utf8JsonWriter w, string name, float[] vector)
    {
        w.WriteStartArray(name);
        foreach (float x in vector)
        {
            w.WriteNumberValue(x);
        }

        w.WriteEndArray();
    }

    private Task Error(HttpContext context, int status, string code, string message) => WriteErrorAsync(context.Response, status, code, message);

    /// <summary>Google's error body: {"error":{"code":N,"message":"…","status":"…"}}.</summary>
    protected override Task WriteErrorAsync(HttpResponse response, int status, string code, string message) =>
        WriteJsonAsync(response, status, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteNumber("code", status);
            w.WriteString("message", message);
            w.WriteString("status", code);
            w.WriteEndObject();
            w.WriteEndObject();
        });
}
