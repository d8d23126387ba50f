using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Omnivec.Http;
using Omnivec.Models;

namespace Omnivec.Hub;

/// <summary>A file of a repository as the model info API lists it; <see cref="Etag"/> is the LFS sha256 or git blob id when listed.</summary>
internal sealed record RepoFile(string Path, long? Size, string? Etag);

/// <summary>
/// Downloads CLIP models from the Hugging Face Hub (or a mirror at HF_ENDPOINT) into the huggingface_hub cache layout,
/// resuming interrupted downloads, verifying hashes and sharing the cache with Python tools.
/// </summary>
/// <remarks>
/// A revision whose ref already points to a complete snapshot is served from disk with no request at all (unlike
/// huggingface_hub, which sends a HEAD per file): model weights are large and immutable per commit, and "main" moving is
/// picked up by <see cref="HubOptions.CheckForUpdates"/> or by pulling a commit hash.
/// </remarks>
public sealed partial class HubClient : IDisposable
{
    private const int MaxRedirects = 10;
    private const int BufferSize = 1 << 17;
    private static readonly string s_userAgent =
        "omnivec/" + (typeof(HubClient).Assembly.GetName().Version?.ToString(3) ?? "0") + " (hf_hub-compatible)";

    private readonly HttpClient _http;
    private readonly HubCache _cache;
    private readonly ILogger _logger;
    private readonly string _base;
    private readonly RetryPolicy _retry;
    private bool _disposed;

    /// <summary>A client with its own connection pool; <paramref name="options"/> defaults to <see cref="HubOptions.FromEnvironment()"/>.</summary>
    public HubClient(HubOptions? options = null, ILogger<HubClient>? logger = null)
        : this(options ?? HubOptions.FromEnvironment(), null, logger, ownsHandler: true)
    {
    }

    /// <summary>A client over <paramref name="handler"/> (not disposed with the client). The handler must not follow redirects itself.</summary>
    public HubClient(HubOptions options, HttpMessageHandler handler, ILogger<HubClient>? logger = null)
        : this(options, handler ?? throw new ArgumentNullException(nameof(handler)), logger, ownsHandler: false)
    {
    }

    private HubClient(HubOptions options, HttpMessageHandler? handler, ILogger? logger, bool ownsHandler)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        // Redirects are followed by hand: the Authorization header must not travel to the CDN host.
        _http = handler is null
            ? new HttpClient(new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                ConnectTimeout = options.ConnectTimeout,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            }, disposeHandler: true)
            : new HttpClient(handler, disposeHandler: ownsHandler);
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(s_userAgent);
        _cache = new HubCache(options.CacheDirectory);
        _logger = logger ?? NullLogger.Instance;
        _base = options.Endpoint.AbsoluteUri.TrimEnd('/');
        _retry = new RetryPolicy(new RetrySettings(options.MaxRetries, options.RetryBaseDelay, options.MaxRetryDelay));
    }

    /// <summary>The options this client was created with.</summary>
    public HubOptions Options { get; }

    /// <summary>Full path of the cache root.</summary>
    public string CacheDirectory => _cache.Root;

    /// <summary>The complete cached snapshot for the model's revision and variant, or null. Never touches the network.</summary>
    public ModelSnapshot? TryGetCached(ModelReference model, ModelVariant variant = ModelVariant.Fp32)
    {
        ArgumentNullException.ThrowIfNull(model);
        return _cache.TryGetSnapshot(model, variant);
    }

    /// <summary>Every repository in the cache, whoever downloaded it. Never touches the network.</summary>
    public IReadOnlyList<CachedModelInfo> ListCached() => _cache.List();

    /// <summary>Deletes a repository from the cache; false when it was not there. Do not call while the same model is being pulled.</summary>
    public bool Remove(string repoId) => _cache.Remove(repoId);

    /// <summary>
    /// Makes the model's files for <paramref name="variant"/> available on disk and returns their snapshot folder.
    /// Cached and complete: no request. Otherwise one model-info request, then one download per missing file.
    /// The ref (e.g. refs/main) is written only after every file is in place, so a failed pull changes nothing a reader sees.
    /// </summary>
    /// <exception cref="HubException">Offline without a cached copy, not found, unauthorized, network, integrity or disk errors.</exception>
    public async Task<ModelSnapshot> PullAsync(
        ModelReference model,
        ModelVariant variant = ModelVariant.Fp32,
        IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ObjectDisposedException.ThrowIf(_disposed, this);

        ModelSnapshot? cached = _cache.TryGetSnapshot(model, variant);
        if (Options.Offline)
        {
            return cached ?? throw new HubException(HubErrorKind.Offline,
                $"Offline mode is on (HF_HUB_OFFLINE) and {model} ({ClipModelLayout.VariantName(variant)}) is not in the cache at {CacheDirectory}. " +
                "Unset HF_HUB_OFFLINE (or set it to 0) to download it, or point --model at a local model folder.");
        }

        if (cached is not null && (!Options.CheckForUpdates || model.IsCommitHash))
        {
            LogUsingCache(_logger, model.ToString(), cached.Commit);
            return cached;
        }

        (string commit, IReadOnlyList<RepoFile> repoFiles) info;
        try
        {
            info = await GetModelInfoAsync(model, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException e) when (cached is not null && e.Kind is HubErrorKind.Network or HubErrorKind.ServerError or HubErrorKind.RateLimited)
        {
            LogUpdateCheckFailed(_logger, model.ToString(), e.Message);
            return cached;
        }

        ClipModelFiles files;
        try
        {
            files = ClipModelLayout.Select(info.repoFiles.Select(f => f.Path), variant);
        }
        catch (ModelConfigurationException e)
        {
            throw new HubException(HubErrorKind.UnsupportedModel, $"{model}: {e.Message}", e);
        }

        string repoDir = _cache.RepoDirectory(model);
        string snapshotDir = HubCache.SnapshotDirectory(repoDir, info.commit);
        var byPath = info.repoFiles.GroupBy(f => f.Path, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        List<RepoFile> needed = files.AllFiles.Select(p => byPath[p]).ToList();
        var tracker = new ProgressTracker(progress, needed);
        var pull = new PullContext(model, info.commit, repoDir, snapshotDir, tracker);

        foreach (RepoFile file in needed)
        {
            await EnsureFileAsync(pull, file, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            _cache.WriteRef(model, info.commit);
        }
        catch (IOException e) when (HubErrors.IsDiskFull(e))
        {
            throw HubErrors.DiskFull(CacheDirectory, "refs/" + model.Revision, e);
        }

        LogPulled(_logger, model.ToString(), info.commit, tracker.FilesDownloaded, tracker.BytesFetched);
        return new ModelSnapshot(model, info.commit, snapshotDir, files, FromCache: tracker.FilesDownloaded == 0);
    }

    /// <summary>
    /// How many bytes a pull of <paramref name="variant"/> would download for <paramref name="model"/> from an empty cache:
    /// one model-info request, the sizes of the files the pack's layout needs for that variant. Null when the Hub gives no
    /// size for one of them. No file is downloaded and the cache is not touched.
    /// </summary>
    /// <exception cref="HubException">Offline, not found, unauthorized, network errors, or a repo that is no supported pack.</exception>
    public async Task<long?> GetDownloadSizeAsync(ModelReference model, ModelVariant variant = ModelVariant.Fp32, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Options.Offline)
        {
            throw new HubException(HubErrorKind.Offline, $"Offline mode is on (HF_HUB_OFFLINE): cannot ask the Hub how large {model} is.");
        }

        (string _, IReadOnlyList<RepoFile> repoFiles) = await GetModelInfoAsync(model, cancellationToken).ConfigureAwait(false);
        ClipModelFiles files;
        try
        {
            files = ClipModelLayout.Select(repoFiles.Select(f => f.Path), variant);
        }
        catch (ModelConfigurationException e)
        {
            throw new HubException(HubErrorKind.UnsupportedModel, $"{model}: {e.Message}", e);
        }

        var sizes = repoFiles.GroupBy(f => f.Path, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Size, StringComparer.Ordinal);
        long total = 0;
        foreach (string path in files.AllFiles)
        {
            if (sizes[path] is not long size)
            {
                return null;
            }

            total += size;
        }

        return total;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _http.Dispose();
        }
    }

    private sealed record PullContext(ModelReference Model, string Commit, string RepoDir, string SnapshotDir, ProgressTracker Tracker);

    // ---- model info -------------------------------------------------------------------------------------------

    private Task<(string commit, IReadOnlyList<RepoFile> files)> GetModelInfoAsync(ModelReference model, CancellationToken cancellationToken)
    {
        // blobs=true adds sizes and LFS hashes, so cached blobs are recognized without a request and progress has totals.
        var url = new Uri($"{_base}/api/models/{model.RepoId}/revision/{Uri.EscapeDataString(model.Revision)}?blobs=true");
        return WithRetriesAsync($"the file list of {model}", async ct =>
        {
            using HttpResponseMessage response = await SendFollowingAsync(url, 0, stopAtOtherHost: false, accept: "application/json", ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw MapError(response, model, file: null);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(Options.ReadTimeout);
            try
            {
                Stream body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    using JsonDocument json = await JsonDocument.ParseAsync(body, default, timeout.Token).ConfigureAwait(false);
                    return ParseModelInfo(json.RootElement, model);
                }
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                throw new RetryableHubException(HubErrorKind.Network, $"no data for {Options.ReadTimeout.TotalSeconds:0} s", inner: e);
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                throw new RetryableHubException(HubErrorKind.Network, e.Message, inner: e);
            }
            catch (JsonException e)
            {
                throw new HubException(HubErrorKind.InvalidResponse, $"The Hub at {Options.Endpoint} sent an unreadable model info for {model}: {e.Message}", e);
            }
        }, cancellationToken);
    }

    private (string commit, IReadOnlyList<RepoFile> files) ParseModelInfo(JsonElement root, ModelReference model)
    {
        string? sha = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("sha", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        if (sha is null || !ModelReference.CommitHashRegex().IsMatch(sha))
        {
            throw new HubException(HubErrorKind.InvalidResponse, $"The Hub at {Options.Endpoint} sent no commit hash (\"sha\") for {model}; is HF_ENDPOINT a Hugging Face Hub?");
        }

        if (!root.TryGetProperty("siblings", out JsonElement siblings) || siblings.ValueKind != JsonValueKind.Array)
        {
            throw new HubException(HubErrorKind.InvalidResponse, $"The Hub at {Options.Endpoint} sent no file list (\"siblings\") for {model}.");
        }

        var files = new List<RepoFile>();
        foreach (JsonElement sibling in siblings.EnumerateArray())
        {
            if (sibling.ValueKind != JsonValueKind.Object || !sibling.TryGetProperty("rfilename", out JsonElement name) || name.GetString() is not { Length: > 0 } path)
            {
                continue;
            }

            long? size = null;
            string? etag = null;
            if (sibling.TryGetProperty("lfs", out JsonElement lfs) && lfs.ValueKind == JsonValueKind.Object)
            {
                etag = lfs.TryGetProperty("sha256", out JsonElement h) ? h.GetString() : null;
                size = lfs.TryGetProperty("size", out JsonElement ls) && ls.TryGetInt64(out long lsv) ? lsv : null;
            }
            else if (sibling.TryGetProperty("blobId", out JsonElement blob))
            {
                etag = blob.GetString();
            }

            size ??= sibling.TryGetProperty("size", out JsonElement sz) && sz.ValueKind == JsonValueKind.Number && sz.TryGetInt64(out long szv) ? szv : null;
            files.Add(new RepoFile(path, size, IsSafeEtag(etag) ? etag!.ToLowerInvariant() : null));
        }

        return (sha, files);
    }

    // ---- file download ----------------------------------------------------------------------------------------

    private async Task EnsureFileAsync(PullContext pull, RepoFile file, CancellationToken cancellationToken)
    {
        string pointer = HubCache.PointerPath(pull.SnapshotDir, file.Path);
        try
        {
            if (HubCache.ResolvesToFile(pointer))
            {
                pull.Tracker.FileDone(file.Path, new FileInfo(pointer).Length, downloaded: false);
                return;
            }

            if (file.Etag is not null)
            {
                string blob = HubCache.BlobPath(pull.RepoDir, file.Etag);
                if (File.Exists(blob))
                {
                    HubCache.Link(blob, pointer);
                    pull.Tracker.FileDone(file.Path, new FileInfo(blob).Length, downloaded: false);
                    return;
                }
            }

            await WithRetriesAsync($"{file.Path} of {pull.Model}", async ct =>
            {
                await DownloadOnceAsync(pull, file, pointer, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (HubErrors.IsDiskFull(e))
        {
            throw HubErrors.DiskFull(CacheDirectory, file.Path, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Network I/O errors were already turned into retries; what is left is the file system.
            throw new HubException(HubErrorKind.CacheAccess,
                $"Cannot write {file.Path} into the Hugging Face cache at {CacheDirectory}: {e.Message}. Make the folder writable, or set HF_HUB_CACHE (or HF_HOME) to one that is.", e);
        }
    }

    private async Task DownloadOnceAsync(PullContext pull, RepoFile file, string pointer, CancellationToken ct)
    {
        Uri url = ResolveUrl(pull.Model.RepoId, pull.Commit, file.Path);
        HttpResponseMessage? first = await SendFollowingAsync(url, 0, stopAtOtherHost: true, accept: null, ct).ConfigureAwait(false);
        try
        {
            bool redirected = HubErrors.IsRedirect(first.StatusCode);
            if (!redirected && !first.IsSuccessStatusCode)
            {
                throw MapError(first, pull.Model, file.Path);
            }

            // LFS files: X-Linked-Etag is the sha256 and X-Linked-Size the real size (ETag/Content-Length describe the pointer or redirect).
            string? headerEtag = NormalizeEtag(HubErrors.Header(first, "X-Linked-Etag") ?? HubErrors.Header(first, "ETag"));
            // A mirror that serves LFS content itself may send the content's own ETag; the info API's sha256 then names the blob.
            string? etag = file.Etag is not null && IsSha256(file.Etag) && (headerEtag is null || !IsSha256(headerEtag)) ? file.Etag : headerEtag ?? file.Etag;
            if (etag is null)
            {
                throw new HubException(HubErrorKind.InvalidResponse,
                    $"The Hub at {Options.Endpoint} sent no ETag for {file.Path} of {pull.Model}, so the download cannot be cached safely.");
            }

            long? size = long.TryParse(HubErrors.Header(first, "X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out long linked) ? linked
                : !redirected ? first.Content.Headers.ContentLength ?? file.Size
                : file.Size;

            string blob = HubCache.BlobPath(pull.RepoDir, etag);
            if (File.Exists(blob))
            {
                HubCache.Link(blob, pointer);
                pull.Tracker.FileDone(file.Path, new FileInfo(blob).Length, downloaded: false);
                return;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            using BlobLock held = await BlobLock.AcquireAsync(_cache.LockPath(pull.Model, etag), Options.LockTimeout, ct).ConfigureAwait(false);
            if (File.Exists(blob))
            {
                // Another pull finished it while we waited for the lock.
                HubCache.Link(blob, pointer);
                pull.Tracker.FileDone(file.Path, new FileInfo(blob).Length, downloaded: false);
                return;
            }

            string incomplete = blob + ".incomplete";
            long have = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
            if (size is long expectedSize && have > expectedSize)
            {
                File.Delete(incomplete);
                have = 0;
            }

            long resumedFrom = have;
            HttpResponseMessage? content = null;
            if (redirected)
            {
                Uri location = RedirectTarget(first, url);
                first.Dispose();
                first = null;
                if (size is null || have < size)
                {
                    content = await SendFollowingAsync(location, have, stopAtOtherHost: false, accept: null, ct).ConfigureAwait(false);
                }
            }
            else if (have > 0)
            {
                first.Dispose();
                first = null;
                if (size is null || have < size)
                {
                    content = await SendFollowingAsync(url, have, stopAtOtherHost: false, accept: null, ct).ConfigureAwait(false);
                }
            }
            else
            {
                content = first;
                first = null;
            }

            using (content)
            {
                IncrementalHash? hash = null;
                try
                {
                    if (content is null && !File.Exists(incomplete))
                    {
                        // An empty file needs no request but still needs a blob.
                        await File.WriteAllBytesAsync(incomplete, [], ct).ConfigureAwait(false);
                    }

                    if (content is not null)
                    {
                        (have, hash) = await ReceiveAsync(pull, file, content, incomplete, have, size, etag, ct).ConfigureAwait(false);
                        if (content.StatusCode == HttpStatusCode.OK)
                        {
                            resumedFrom = 0;
                        }
                    }

                    await VerifyAsync(pull, file, incomplete, have, size, etag, hash, resumedFrom, ct).ConfigureAwait(false);
                }
                finally
                {
                    hash?.Dispose();
                }
            }

            // Same folder, so the rename is atomic: a blob is either absent or complete.
            File.Move(incomplete, blob, overwrite: true);
            HubCache.Link(blob, pointer);
            pull.Tracker.FileDone(file.Path, have, downloaded: true);
        }
        finally
        {
            first?.Dispose();
        }
    }

    private async Task<(long have, IncrementalHash? hash)> ReceiveAsync(
        PullContext pull, RepoFile file, HttpResponseMessage content, string incomplete, long have, long? size, string etag, CancellationToken ct)
    {
        int status = (int)content.StatusCode;
        bool append;
        if (status == 206)
        {
            long? from = content.Content.Headers.ContentRange?.From;
            if (from != have)
            {
                File.Delete(incomplete);
                throw new RetryableHubException(HubErrorKind.Network, $"the server resumed {file.Path} at byte {from?.ToString(CultureInfo.InvariantCulture) ?? "?"} instead of {have.ToString(CultureInfo.InvariantCulture)}; restarting it");
            }

            append = true;
        }
        else if (status == 200)
        {
            append = false;
        }
        else if (status == 416)
        {
            File.Delete(incomplete);
            throw new RetryableHubException(HubErrorKind.Network, $"the server refused to resume {file.Path} (HTTP 416); restarting it", 416);
        }
        else
        {
            throw MapError(content, pull.Model, file.Path);
        }

        if (!append)
        {
            have = 0;
        }

        IncrementalHash? hash = IsSha256(etag) ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var fs = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
            await using (fs.ConfigureAwait(false))
            {
                fs.SetLength(have);
                if (hash is not null && have > 0)
                {
                    // The hash covers the whole file, so feed it the part kept from the earlier attempt.
                    fs.Position = 0;
                    int read;
                    while ((read = await fs.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                    {
                        hash.AppendData(buffer, 0, read);
                    }
                }

                fs.Position = have;
                Stream body = await content.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    while (true)
                    {
                        stall.CancelAfter(Options.ReadTimeout);
                        int n;
                        try
                        {
                            n = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                        {
                            throw new RetryableHubException(HubErrorKind.Network, $"no data for {Options.ReadTimeout.TotalSeconds:0} s while downloading {file.Path}", inner: e);
                        }
                        catch (Exception e) when (e is IOException or HttpRequestException)
                        {
                            throw new RetryableHubException(HubErrorKind.Network,
                                $"the connection dropped after {have.ToString(CultureInfo.InvariantCulture)} of {size?.ToString(CultureInfo.InvariantCulture) ?? "?"} bytes of {file.Path}", inner: e);
                        }

                        if (n == 0)
                        {
                            break;
                        }

                        await fs.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        hash?.AppendData(buffer, 0, n);
                        have += n;
                        pull.Tracker.Advance(file.Path, have, size, n);
                    }
                }

                await fs.FlushAsync(ct).ConfigureAwait(false);
            }

            return (have, hash);
        }
        catch
        {
            hash?.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task VerifyAsync(
        PullContext pull, RepoFile file, string incomplete, long have, long? size, string etag, IncrementalHash? hash, long resumedFrom, CancellationToken ct)
    {
        if (size is long expected && have != expected)
        {
            if (have < expected)
            {
                throw new RetryableHubException(HubErrorKind.Network,
                    $"the download of {file.Path} ended at {have.ToString(CultureInfo.InvariantCulture)} of {expected.ToString(CultureInfo.InvariantCulture)} bytes");
            }

            File.Delete(incomplete);
            throw new HubException(HubErrorKind.Integrity,
                $"{file.Path} of {pull.Model} is {have.ToString(CultureInfo.InvariantCulture)} bytes, larger than the {expected.ToString(CultureInfo.InvariantCulture)} the Hub announced; the download was deleted.");
        }

        string? actual = null;
        string algorithm = "";
        if (IsSha256(etag))
        {
            algorithm = "sha256";
            actual = hash is not null ? Convert.ToHexStringLower(hash.GetHashAndReset()) : await Sha256OfFileAsync(incomplete, ct).ConfigureAwait(false);
        }
        else if (IsSha1(etag))
        {
            // Regular (non-LFS) files: the ETag is the git blob id, sha1("blob <size>\0" + content).
            algorithm = "git blob sha1";
            actual = await GitBlobSha1Async(incomplete, ct).ConfigureAwait(false);
        }

        if (actual is not null && !string.Equals(actual, etag, StringComparison.OrdinalIgnoreCase))
        {
            File.Delete(incomplete);
            if (resumedFrom > 0)
            {
                // The bad bytes may come from a partial file left by an earlier run (another tool, a crash): start over once more.
                throw new RetryableHubException(HubErrorKind.Network, $"{file.Path} did not match its {algorithm} after resuming at byte {resumedFrom.ToString(CultureInfo.InvariantCulture)}; downloading it again from the start");
            }

            throw new HubException(HubErrorKind.Integrity,
                $"{file.Path} of {pull.Model} is corrupt: its {algorithm} is {actual} but the Hub says {etag}. The download was deleted; pull again " +
                "(if it keeps failing, a proxy or mirror is altering the file).");
        }
    }

    private static async Task<string> Sha256OfFileAsync(string path, CancellationToken ct)
    {
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (fs.ConfigureAwait(false))
        {
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(fs, ct).ConfigureAwait(false));
        }
    }

    private static async Task<string> GitBlobSha1Async(string path, CancellationToken ct)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (fs.ConfigureAwait(false))
        {
            sha1.AppendData(Encoding.ASCII.GetBytes("blob " + fs.Length.ToString(CultureInfo.InvariantCulture) + "\0"));
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                int n;
                while ((n = await fs.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    sha1.AppendData(buffer, 0, n);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    // ---- HTTP -------------------------------------------------------------------------------------------------

    private Uri ResolveUrl(string repoId, string revision, string path) =>
        new($"{_base}/{repoId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    private bool IsEndpointHost(Uri uri) =>
        string.Equals(uri.Scheme, Options.Endpoint.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(uri.IdnHost, Options.Endpoint.IdnHost, StringComparison.OrdinalIgnoreCase)
        && uri.Port == Options.Endpoint.Port;

    /// <summary>
    /// GET following redirects by hand. The token goes only to the endpoint's own host (so relative redirects, e.g. of a
    /// renamed repository, keep it and the CDN never sees it). With <paramref name="stopAtOtherHost"/> the redirect to another
    /// host is returned as is: its headers carry the file's metadata and the lock must be taken before the body is fetched.
    /// </summary>
    private async Task<HttpResponseMessage> SendFollowingAsync(Uri url, long rangeFrom, bool stopAtOtherHost, string? accept, CancellationToken ct)
    {
        Uri current = url;
        for (int hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            // Identity encoding keeps ETag strong and Content-Length equal to the file size.
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            if (accept is not null)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
            }

            if (Options.Token is not null && IsEndpointHost(current))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Options.Token);
            }

            if (rangeFrom > 0)
            {
                request.Headers.Range = new RangeHeaderValue(rangeFrom, null);
            }

            HttpResponseMessage response = await SendOnceAsync(request, ct).ConfigureAwait(false);
            if (!HubErrors.IsRedirect(response.StatusCode))
            {
                return response;
            }

            Uri next = RedirectTarget(response, current);
            if ((stopAtOtherHost && !IsEndpointHost(next)) || hop >= MaxRedirects)
            {
                if (hop >= MaxRedirects)
                {
                    response.Dispose();
                    throw new HubException(HubErrorKind.InvalidResponse, $"Too many redirects from {url}.");
                }

                return response;
            }

            response.Dispose();
            current = next;
        }
    }

    private static Uri RedirectTarget(HttpResponseMessage response, Uri requestUri)
    {
        Uri location = response.Headers.Location
            ?? throw new HubException(HubErrorKind.InvalidResponse, $"HTTP {(int)response.StatusCode} redirect without a Location from {requestUri}.");
        return location.IsAbsoluteUri ? location : new Uri(requestUri, location);
    }

    private async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.ConnectTimeout + Options.ReadTimeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new RetryableHubException(HubErrorKind.Network, $"no answer from {request.RequestUri?.GetLeftPart(UriPartial.Authority)} in time", inner: e);
        }
        catch (HttpRequestException e)
        {
            throw new RetryableHubException(HubErrorKind.Network, $"{request.RequestUri?.GetLeftPart(UriPartial.Authority)}: {e.Message}", inner: e);
        }
    }

    private async Task<T> WithRetriesAsync<T>(string what, Func<CancellationToken, Task<T>> attempt, CancellationToken ct)
    {
        try
        {
            return await _retry.ExecuteAsync(
                async token => await attempt(token).ConfigureAwait(false),
                r => LogRetrying(_logger, what, r.Failure.Message, r.Delay.TotalSeconds, r.Retry, r.MaxRetries),
                ct).ConfigureAwait(false);
        }
        catch (RetryableHubException e)
        {
            throw HubErrors.Final(e, Options, what, Options.MaxRetries + 1);
        }
    }

    private Exception MapError(HttpResponseMessage response, ModelReference model, string? file)
    {
        int status = (int)response.StatusCode;
        string? code = HubErrors.Header(response, "X-Error-Code");
        string? detail = HubErrors.Header(response, "X-Error-Message");
        string suffix = detail is null ? "" : $" (Hub: {detail})";
        string repoUrl = $"{_base}/{model.RepoId}";

        if (status is 429)
        {
            return new RetryableHubException(HubErrorKind.RateLimited, "HTTP 429 Too Many Requests", status, RetryPolicy.ReadRetryAfter(response));
        }

        if (RetryPolicy.IsRetryable(response.StatusCode))
        {
            return new RetryableHubException(HubErrorKind.ServerError, $"HTTP {status} {response.ReasonPhrase}", status, RetryPolicy.ReadRetryAfter(response));
        }

        if (code is "RepoNotFound" && status is 401 or 404)
        {
            // The Hub answers 401 RepoNotFound for private repositories when no token is sent.
            return new HubException(HubErrorKind.NotFound,
                $"Repository {model.RepoId} was not found on {Options.Endpoint}{suffix}. Check the repo id; if it is private, set HF_TOKEN to a token that can read it.")
            { StatusCode = status };
        }

        if (status is 401 or 403)
        {
            string why = code == "GatedRepo" || status == 403
                ? $"{model.RepoId} is gated or restricted: request access at {repoUrl}, then set HF_TOKEN to a token of the account that was granted access"
                : Options.Token is null
                    ? $"{model.RepoId} needs a token: set HF_TOKEN (or log in so $HF_HOME/token exists); for gated repositories also request access at {repoUrl}"
                    : $"the token in use (HF_TOKEN or $HF_HOME/token) was not accepted for {model.RepoId}; check it, and for gated repositories request access at {repoUrl}";
            return new HubException(HubErrorKind.Unauthorized, $"The Hub refused access (HTTP {status}): {why}.{suffix}") { StatusCode = status };
        }

        if (status is 404)
        {
            string message = code switch
            {
                "RevisionNotFound" => $"Revision '{model.Revision}' was not found in {model.RepoId} on {Options.Endpoint}; check the branch, tag or commit after '@'.",
                "EntryNotFound" when file is not null => $"File {file} was not found in {model.RepoId} at revision {model.Revision} on {Options.Endpoint}.",
                _ when file is null => $"Repository {model.RepoId} (revision {model.Revision}) was not found on {Options.Endpoint}. Check the repo id.",
                _ => $"File {file} of {model.RepoId} was not found on {Options.Endpoint} (HTTP 404).",
            };
            return new HubException(HubErrorKind.NotFound, message + suffix) { StatusCode = status };
        }

        return new HubException(HubErrorKind.InvalidResponse,
            $"Unexpected HTTP {status} {response.ReasonPhrase} from {Options.Endpoint} for {(file is null ? model.ToString() : file + " of " + model)}.{suffix}")
        { StatusCode = status };
    }

    /// <summary>ETag as huggingface_hub stores it: no W/ prefix, no quotes; null when missing or unsafe as a file name.</summary>
    internal static string? NormalizeEtag(string? etag)
    {
        if (etag is null)
        {
            return null;
        }

        string value = etag.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }

        value = value.Trim('"');
        return IsSafeEtag(value) ? value : null;
    }

    private static bool IsSafeEtag(string? etag) => etag is not null && SafeEtagRegex().IsMatch(etag);

    private static bool IsSha256(string etag) => etag.Length == 64 && etag.All(char.IsAsciiHexDigit);

    private static bool IsSha1(string etag) => etag.Length == 40 && etag.All(char.IsAsciiHexDigit);

    // The ETag becomes a file name: allow no separators, no "..", nothing odd.
    [GeneratedRegex("^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeEtagRegex();

    [LoggerMessage(Level = LogLevel.Debug, Message = "Using cached {Model} at commit {Commit}")]
    private static partial void LogUsingCache(ILogger logger, string model, string commit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check {Model} for updates, using the cached snapshot: {Reason}")]
    private static partial void LogUpdateCheckFailed(ILogger logger, string model, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Downloading {What} failed ({Reason}); retrying in {DelaySeconds:0.0} s ({Retry}/{MaxRetries})")]
    private static partial void LogRetrying(ILogger logger, string what, string reason, double delaySeconds, int retry, int maxRetries);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulled {Model} at commit {Commit}: {Files} file(s), {Bytes} bytes downloaded")]
    private static partial void LogPulled(ILogger logger, string model, string commit, int files, long bytes);
}
