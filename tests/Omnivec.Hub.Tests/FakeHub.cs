using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Omnivec.Hub.Tests;

/// <summary>A file of a fake repository. LFS files are served through a CDN redirect and carry their sha256 as ETag; others their git blob sha1.</summary>
internal sealed class FakeFile(string path, byte[] content, bool lfs)
{
    public string Path { get; } = path;
    public byte[] Content { get; } = content;
    public bool Lfs { get; } = lfs;
    public string Etag { get; } = lfs ? Sha256Hex(content) : GitBlobSha1(content);

    public static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static string GitBlobSha1(byte[] data)
    {
        byte[] header = Encoding.ASCII.GetBytes("blob " + data.Length.ToString(CultureInfo.InvariantCulture) + "\0");
#pragma warning disable CA5350 // git blob ids are SHA-1 by definition; this names files, it does not secure anything.
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. data]));
#pragma warning restore CA5350
    }
}

internal sealed class FakeRepo(string id)
{
    public string Id { get; } = id;
    public string Commit { get; set; } = NewCommit();
    public Dictionary<string, FakeFile> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>Files listed by the info API but answered 404 EntryNotFound by resolve.</summary>
    public HashSet<string> Unresolvable { get; } = new(StringComparer.Ordinal);

    public static string NewCommit() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));

    public FakeFile Add(string path, byte[] content, bool? lfs = null)
    {
        var file = new FakeFile(path, content, lfs ?? path.EndsWith(".onnx", StringComparison.Ordinal));
        Files[path] = file;
        return file;
    }

    public FakeFile AddRandom(string path, int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return Add(path, bytes);
    }

    public FakeFile AddText(string path, string text) => Add(path, Encoding.UTF8.GetBytes(text), lfs: false);
}

internal sealed record RequestRecord(int Port, string PathAndQuery, string? Authorization, string? Range)
{
    public bool IsInfo => PathAndQuery.StartsWith("/api/models/", StringComparison.Ordinal);
    public bool IsResolve => PathAndQuery.Contains("/resolve/", StringComparison.Ordinal);
    public bool IsCdn => PathAndQuery.StartsWith("/cdn/", StringComparison.Ordinal);
}

/// <summary>
/// A minimal Hugging Face Hub on 127.0.0.1: the model info API, resolve URLs with the Hub's headers, 302 redirects of LFS
/// files to a second listener (the "CDN", another port and so another host:port), Range requests, and injectable faults.
/// </summary>
internal sealed class FakeHub : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<RequestRecord> _requests = new();
    private readonly Task _loop;
    private int _rateLimitsLeft;
    private int _serverErrorsLeft;
    private readonly ConcurrentDictionary<string, long> _dropOnce = new(StringComparer.Ordinal);

    public FakeHub()
    {
        // Two prefixes on one listener: ports differ, so for the client the CDN is another host.
        for (int attempt = 0; ; attempt++)
        {
            HubPort = FreePort();
            CdnPort = FreePort();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{HubPort}/");
            _listener.Prefixes.Add($"http://127.0.0.1:{CdnPort}/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }

        _loop = Task.Run(AcceptLoopAsync);
    }

    public int HubPort { get; private set; }
    public int CdnPort { get; private set; }
    public Uri Endpoint => new($"http://127.0.0.1:{HubPort}");
    public ConcurrentDictionary<string, FakeRepo> Repos { get; } = new(StringComparer.Ordinal);

    /// <summary>Old repo id → new repo id: resolve and info URLs of the old id answer a relative 307, as the Hub does for renamed repos.</summary>
    public ConcurrentDictionary<string, string> Renamed { get; } = new(StringComparer.Ordinal);

    /// <summary>When set, Hub requests without "Bearer {token}" get 401.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Paths whose content is served with some bytes flipped (ETag unchanged).</summary>
    public HashSet<string> Corrupt { get; } = new(StringComparer.Ordinal);

    /// <summary>Pause between 64 KiB chunks of content, to make downloads overlap in concurrency tests.</summary>
    public TimeSpan ChunkDelay { get; set; }

    public IReadOnlyList<RequestRecord> Requests => [.. _requests];

    public void ClearRequests() => _requests.Clear();

    /// <summary>The next content response for this path drops the connection after <paramref name="bytes"/> bytes.</summary>
    public void DropOnce(string path, long bytes) => _dropOnce[path] = bytes;

    /// <summary>The next <paramref name="count"/> Hub requests get 429 with Retry-After: 1.</summary>
    public void RateLimit(int count) => Interlocked.Exchange(ref _rateLimitsLeft, count);

    /// <summary>The next <paramref name="count"/> Hub requests get 503.</summary>
    public void FailWith503(int count) => Interlocked.Exchange(ref _serverErrorsLeft, count);

    public FakeRepo AddRepo(string id)
    {
        var repo = new FakeRepo(id);
        Repos[id] = repo;
        return repo;
    }

    /// <summary>A Transformers.js CLIP repo: fp32 and fp16 model pairs (MB-sized random "LFS" files), JSON/tokenizer files, extras that must not be pulled.</summary>
    public FakeRepo AddTransformersJsRepo(string id, int seed = 1)
    {
        FakeRepo repo = AddRepo(id);
        repo.AddText(".gitattributes", "*.onnx filter=lfs diff=lfs merge=lfs -text\n");
        repo.AddText("README.md", "# tiny clip\n");
        repo.AddText("config.json", "{\"model_type\":\"clip\",\"projection_dim\":512}");
        repo.AddText("preprocessor_config.json", "{\"crop_size\":224,\"image_mean\":[0.48145466,0.4578275,0.40821073]}");
        repo.AddText("tokenizer.json", "{\"model\":{\"type\":\"BPE\"}}");
        repo.AddText("tokenizer_config.json", "{\"model_max_length\":77}");
        repo.AddText("vocab.json", "{\"a</w>\":0}");
        repo.AddText("merges.txt", "#version: 0.2\na b\n");
        repo.AddText("special_tokens_map.json", "{}");
        repo.AddRandom("onnx/text_model.onnx", 2 * 1024 * 1024 + 123, seed);
        repo.AddRandom("onnx/vision_model.onnx", 3 * 1024 * 1024 + 77, seed + 1);
        repo.AddRandom("onnx/text_model_fp16.onnx", 1024 * 1024 + 5, seed + 2);
        repo.AddRandom("onnx/vision_model_fp16.onnx", 1536 * 1024 + 9, seed + 3);
        repo.AddRandom("onnx/model.onnx", 100_000, seed + 4);
        return repo;
    }

    public FakeRepo AddImmichRepo(string id, int seed = 10)
    {
        FakeRepo repo = AddRepo(id);
        repo.AddText("config.json", "{\"embed_dim\":512}");
        repo.AddText("textual/tokenizer.json", "{\"model\":{\"type\":\"BPE\"}}");
        repo.AddText("textual/tokenizer_config.json", "{}");
        repo.AddText("visual/preprocess_cfg.json", "{\"size\":[224,224]}");
        repo.AddRandom("textual/model.onnx", 1024 * 1024 + 1, seed);
        repo.AddRandom("visual/model.onnx", 2 * 1024 * 1024 + 2, seed + 1);
        repo.Add("textual/armnn/model.armnn", new byte[1000], lfs: true);
        return repo;
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            _listener.Stop();
            _listener.Close();
        }
        catch (HttpListenerException)
        {
            // .NET's managed HttpListener looks each prefix's port up again while closing and throws "Address already in
            // use" when a parallel test has bound that port since; the listener is closed either way (a teardown flake
            // seen once in a fresh-clone run, not a test failure).
        }
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private async Task AcceptLoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                try
                {
                    await HandleAsync(context);
                }
                catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
                {
                    // The client went away (or we dropped the connection on purpose).
                }
            });
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        HttpListenerRequest request = context.Request;
        HttpListenerResponse response = context.Response;
        int port = request.LocalEndPoint.Port;
        string rawPath = request.RawUrl ?? "/";
        _requests.Enqueue(new RequestRecord(port, rawPath, request.Headers["Authorization"], request.Headers["Range"]));

        if (port == CdnPort)
        {
            await ServeCdnAsync(context, rawPath);
            return;
        }

        if (Interlocked.Decrement(ref _rateLimitsLeft) >= 0)
        {
            response.StatusCode = 429;
            response.Headers["Retry-After"] = "1";
            response.Close();
            return;
        }

        if (Interlocked.Decrement(ref _serverErrorsLeft) >= 0)
        {
            response.StatusCode = 503;
            response.Close();
            return;
        }

        if (RequiredToken is not null && request.Headers["Authorization"] != "Bearer " + RequiredToken)
        {
            response.StatusCode = 401;
            response.Headers["X-Error-Message"] = "Invalid credentials in Authorization header";
            response.Close();
            return;
        }

        string path = Uri.UnescapeDataString(rawPath.Split('?')[0]);
        if (path.StartsWith("/api/models/", StringComparison.Ordinal))
        {
            // /api/models/{org}/{name}/revision/{revision}
            string[] parts = path["/api/models/".Length..].Split('/', 4);
            if (parts.Length == 4 && parts[2] == "revision")
            {
                string id = parts[0] + "/" + parts[1];
                if (Renamed.TryGetValue(id, out string? newId))
                {
                    Redirect(response, 307, rawPath.Replace("/api/models/" + id + "/", "/api/models/" + newId + "/", StringComparison.Ordinal));
                    return;
                }

                await ServeInfoAsync(response, id, parts[3], request.Headers["Authorization"] is not null);
                return;
            }
        }
        else
        {
            // /{org}/{name}/resolve/{revision}/{path}
            string[] parts = path.TrimStart('/').Split('/', 5);
            if (parts.Length == 5 && parts[2] == "resolve")
            {
                string id = parts[0] + "/" + parts[1];
                if (Renamed.TryGetValue(id, out string? newId))
                {
                    Redirect(response, 307, rawPath.Replace("/" + id + "/", "/" + newId + "/", StringComparison.Ordinal));
                    return;
                }

                await ServeResolveAsync(context, id, parts[3], parts[4]);
                return;
            }
        }

        Error(response, 404, null);
    }

    private async Task ServeInfoAsync(HttpListenerResponse response, string id, string revision, bool authenticated)
    {
        if (!Repos.TryGetValue(id, out FakeRepo? repo))
        {
            // Like the Hub: without a token a missing repo may be a private one, so the answer is 401.
            Error(response, authenticated ? 404 : 401, "RepoNotFound");
            return;
        }

        if (revision != "main" && revision != repo.Commit)
        {
            Error(response, 404, "RevisionNotFound");
            return;
        }

        var json = new
        {
            id = repo.Id,
            sha = repo.Commit,
            siblings = repo.Files.Values.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => f.Lfs
                ? (object)new { rfilename = f.Path, size = f.Content.Length, blobId = FakeFile.GitBlobSha1(Encoding.ASCII.GetBytes("pointer " + f.Etag)), lfs = new { sha256 = f.Etag, size = f.Content.Length, pointerSize = 134 } }
                : new { rfilename = f.Path, size = f.Content.Length, blobId = f.Etag }),
        };
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(json);
        response.ContentType = "application/json";
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body);
        response.Close();
    }

    private async Task ServeResolveAsync(HttpListenerContext context, string id, string revision, string filePath)
    {
        HttpListenerResponse response = context.Response;
        if (!Repos.TryGetValue(id, out FakeRepo? repo))
        {
            Error(response, 404, "RepoNotFound");
            return;
        }

        if (revision != "main" && revision != repo.Commit)
        {
            Error(response, 404, "RevisionNotFound");
            return;
        }

        response.Headers["X-Repo-Commit"] = repo.Commit;
        if (!repo.Files.TryGetValue(filePath, out FakeFile? file) || repo.Unresolvable.Contains(filePath))
        {
            Error(response, 404, "EntryNotFound");
            return;
        }

        if (file.Lfs)
        {
            response.Headers["X-Linked-Etag"] = "\"" + file.Etag + "\"";
            response.Headers["X-Linked-Size"] = file.Content.Length.ToString(CultureInfo.InvariantCulture);
            response.Headers["ETag"] = "\"" + FakeFile.GitBlobSha1(Encoding.ASCII.GetBytes("pointer " + file.Etag)) + "\"";
            Redirect(response, 302, $"http://127.0.0.1:{CdnPort}/cdn/{file.Etag}?file={Uri.EscapeDataString(filePath)}&repo={Uri.EscapeDataString(id)}");
            return;
        }

        response.Headers["ETag"] = "\"" + file.Etag + "\"";
        await ServeContentAsync(context, file);
    }

    private async Task ServeCdnAsync(HttpListenerContext context, string rawPath)
    {
        string sha = rawPath["/cdn/".Length..].Split('?')[0];
        FakeFile? file = Repos.Values.SelectMany(r => r.Files.Values).FirstOrDefault(f => f.Lfs && f.Etag == sha);
        if (file is null)
        {
            Error(context.Response, 404, null);
            return;
        }

        // A CDN ETag is not the sha256; the client must not use it.
        context.Response.Headers["ETag"] = "\"cdn-" + sha[..16] + "\"";
        await ServeContentAsync(context, file);
    }

    private async Task ServeContentAsync(HttpListenerContext context, FakeFile file)
    {
        HttpListenerResponse response = context.Response;
        byte[] content = file.Content;
        if (Corrupt.Contains(file.Path))
        {
            content = (byte[])content.Clone();
            content[content.Length / 2] ^= 0xFF;
        }

        long start = 0;
        string? range = context.Request.Headers["Range"];
        if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            if (start >= content.Length)
            {
                response.StatusCode = 416;
                response.Headers["Content-Range"] = $"bytes */{content.Length}";
                response.Close();
                return;
            }

            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }

        response.Headers["Accept-Ranges"] = "bytes";
        response.ContentLength64 = content.Length - start;
        long dropAfter = _dropOnce.TryRemove(file.Path, out long d) ? d : long.MaxValue;
        long sent = 0;
        for (long offset = start; offset < content.Length; offset += 64 * 1024)
        {
            int count = (int)Math.Min(64 * 1024, content.Length - offset);
            if (sent + count > dropAfter)
            {
                await response.OutputStream.WriteAsync(content.AsMemory((int)offset, (int)(dropAfter - sent)));
                await response.OutputStream.FlushAsync();
                response.Abort();
                return;
            }

            await response.OutputStream.WriteAsync(content.AsMemory((int)offset, count));
            sent += count;
            if (ChunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(ChunkDelay);
            }
        }

        response.Close();
    }

    private static void Redirect(HttpListenerResponse response, int status, string location)
    {
        response.StatusCode = status;
        response.Headers["Location"] = location;
        response.Close();
    }

    private static void Error(HttpListenerResponse response, int status, string? code)
    {
        response.StatusCode = status;
        if (code is not null)
        {
            response.Headers["X-Error-Code"] = code;
        }

        response.Close();
    }
}
