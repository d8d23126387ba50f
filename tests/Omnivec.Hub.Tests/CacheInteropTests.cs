using System.Diagnostics;
using System.Text;
using Omnivec.Models;

namespace Omnivec.Hub.Tests;

public class CacheInteropTests : HubTestBase
{
    private static readonly string s_commit = new string('a', 39) + "1";

    /// <summary>Writes a cache exactly as huggingface_hub would: blobs named by etag, relative symlinks, refs/main without newline.</summary>
    private Dictionary<string, byte[]> WriteHuggingFaceCache(string repoId, string commit, params string[] files)
    {
        string repoDir = RepoDir(repoId);
        var contents = new Dictionary<string, byte[]>();
        foreach (string path in files)
        {
            byte[] content = Encoding.UTF8.GetBytes("content of " + path);
            string etag = path.EndsWith(".onnx", StringComparison.Ordinal) ? FakeFile.Sha256Hex(content) : FakeFile.GitBlobSha1(content);
            string blob = Path.Combine(repoDir, "blobs", etag);
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            File.WriteAllBytes(blob, content);
            string pointer = Path.Combine(repoDir, "snapshots", commit, path);
            Directory.CreateDirectory(Path.GetDirectoryName(pointer)!);
            File.CreateSymbolicLink(pointer, Path.GetRelativePath(Path.GetDirectoryName(pointer)!, blob));
            contents[path] = content;
        }

        Directory.CreateDirectory(Path.Combine(repoDir, "refs"));
        File.WriteAllText(Path.Combine(repoDir, "refs", "main"), commit);
        return contents;
    }

    [Fact]
    public async Task A_cache_written_by_huggingface_hub_is_used_without_any_request()
    {
        var contents = WriteHuggingFaceCache("Xenova/clip-vit-base-patch32", s_commit,
            "config.json", "tokenizer.json", "preprocessor_config.json", "onnx/text_model.onnx", "onnx/vision_model.onnx", "onnx/text_model_quantized.onnx");
        using HubClient client = Client();
        var model = ModelReference.Parse(HubDefaults.DefaultModel);

        ModelSnapshot snapshot = await client.PullAsync(model);

        Assert.Empty(Hub.Requests);
        Assert.True(snapshot.FromCache);
        Assert.Equal(s_commit, snapshot.Commit);
        Assert.Equal(contents["onnx/vision_model.onnx"], File.ReadAllBytes(snapshot.VisionModelPath));
        Assert.Equal(["config.json", "preprocessor_config.json", "tokenizer.json"], snapshot.Files.SupportFiles);

        // By commit hash as well, and a variant whose vision half is missing is not "cached".
        Assert.NotNull(client.TryGetCached(new ModelReference(HubDefaults.DefaultModel, s_commit)));
        Assert.Null(client.TryGetCached(model, ModelVariant.Quantized));
        Assert.Null(client.TryGetCached(new ModelReference(HubDefaults.DefaultModel, "v2")));
    }

    [Fact]
    public void A_link_to_a_deleted_blob_does_not_count_as_cached()
    {
        WriteHuggingFaceCache("org/model", s_commit, "onnx/text_model.onnx", "onnx/vision_model.onnx");
        string blobs = Path.Combine(RepoDir("org/model"), "blobs");
        using HubClient client = Client();
        Assert.NotNull(client.TryGetCached(ModelReference.Parse("org/model")));

        foreach (string blob in Directory.GetFiles(blobs))
        {
            File.Delete(blob);
            break;
        }

        Assert.Null(client.TryGetCached(ModelReference.Parse("org/model")));
    }

    [Fact]
    public async Task ListCached_reports_repos_revisions_layout_and_size_and_Remove_deletes_one()
    {
        WriteHuggingFaceCache("immich-app/ViT-B-32__openai", s_commit, "textual/model.onnx", "visual/model.onnx", "config.json");
        Hub.AddTransformersJsRepo("test-org/tiny-clip");
        using HubClient client = Client();
        await client.PullAsync(ModelReference.Parse("test-org/tiny-clip"));
        Directory.CreateDirectory(Path.Combine(CacheDir, "datasets--x--y"));

        IReadOnlyList<CachedModelInfo> cached = client.ListCached();

        Assert.Equal(["immich-app/ViT-B-32__openai", "test-org/tiny-clip"], cached.Select(c => c.RepoId));
        CachedModelInfo immich = cached[0];
        Assert.Equal(ClipLayoutKind.Immich, immich.Layout);
        CachedRevision revision = Assert.Single(immich.Revisions);
        Assert.Equal(s_commit, revision.Commit);
        Assert.Equal(["main"], revision.Refs);
        Assert.Equal(["config.json", "textual/model.onnx", "visual/model.onnx"], revision.Files);
        Assert.Equal([ModelVariant.Fp32], revision.Variants);
        long blobBytes = Directory.GetFiles(Path.Combine(immich.Directory, "blobs")).Sum(f => new FileInfo(f).Length);
        Assert.Equal(blobBytes, immich.SizeOnDisk);

        CachedModelInfo tiny = cached[1];
        Assert.Equal(ClipLayoutKind.TransformersJs, tiny.Layout);
        Assert.True(tiny.SizeOnDisk > 5 * 1024 * 1024);

        Assert.True(client.Remove("test-org/tiny-clip"));
        Assert.False(Directory.Exists(tiny.Directory));
        Assert.False(client.Remove("test-org/tiny-clip"));
        Assert.Single(client.ListCached());
        Assert.Throws<ModelConfigurationException>(() => client.Remove("../etc"));
    }

    [Fact]
    public async Task The_download_lock_excludes_other_processes_using_flock()
    {
        // flock(1) takes the same kind of lock as Python's filelock and .NET's FileShare.None on Unix.
        string lockPath = Path.Combine(CacheDir, ".locks", "models--a--b", "abc.lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        // The holder says when it has the lock and keeps it until its stdin closes, so the test decides when it ends
        // (no sleeps to race on a loaded machine).
        using var holder = Process.Start(new ProcessStartInfo("flock", [lockPath, "sh", "-c", "echo held; cat > /dev/null"])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("held", await holder.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));

            Task<BlobLock> acquiring = BlobLock.AcquireAsync(lockPath, TimeSpan.FromSeconds(60), CancellationToken.None);
            await Task.Delay(500);
            Assert.False(acquiring.IsCompleted, "the lock was taken while flock held it");

            holder.StandardInput.Close();
            using (BlobLock held = await acquiring.WaitAsync(TimeSpan.FromSeconds(60)))
            {
                await holder.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(0, holder.ExitCode);
            }
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill(entireProcessTree: true);
            }
        }

        var timeout = await Assert.ThrowsAsync<HubException>(async () =>
        {
            using BlobLock first = await BlobLock.AcquireAsync(lockPath, TimeSpan.FromSeconds(1), CancellationToken.None);
            using BlobLock second = await BlobLock.AcquireAsync(lockPath, TimeSpan.FromMilliseconds(300), CancellationToken.None);
        });
        Assert.Equal(HubErrorKind.LockTimeout, timeout.Kind);
    }

    [Fact]
    public async Task Cancelling_a_pull_keeps_the_partial_file_for_resuming_and_writes_no_ref()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo("test-org/tiny-clip");
        Hub.ChunkDelay = TimeSpan.FromMilliseconds(20);
        using HubClient client = Client();
        using var cts = new CancellationTokenSource();
        var progress = new CancelAfterBytes(cts, 256 * 1024);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PullAsync(ModelReference.Parse("test-org/tiny-clip"), progress: progress, cancellationToken: cts.Token));

        string repoDir = RepoDir("test-org/tiny-clip");
        Assert.False(File.Exists(Path.Combine(repoDir, "refs", "main")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(repoDir, "blobs"), "*.incomplete"));
        Hub.ChunkDelay = TimeSpan.Zero;
        ModelSnapshot snapshot = await client.PullAsync(ModelReference.Parse("test-org/tiny-clip"));
        Assert.Equal(repo.Files["onnx/text_model.onnx"].Etag, Sha256OfFile(snapshot.TextModelPath));
    }

    [Fact]
    public void Disk_full_errors_are_recognized()
    {
        // /dev/full fails every write with ENOSPC, as a full disk does.
        var error = Assert.ThrowsAny<IOException>(() =>
        {
            using var full = new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
            full.Write(new byte[4096]);
            full.Flush();
        });
        Assert.True(HubErrors.IsDiskFull(error), $"HResult {error.HResult}: {error.Message}");
        Assert.False(HubErrors.IsDiskFull(new IOException("other")));
        HubException wrapped = HubErrors.DiskFull(CacheDir, "onnx/text_model.onnx", (IOException)error);
        Assert.Equal(HubErrorKind.DiskFull, wrapped.Kind);
        Assert.Contains("HF_HUB_CACHE", wrapped.Message);
    }

    private sealed class CancelAfterBytes(CancellationTokenSource cts, long bytes) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value)
        {
            if (value.File.EndsWith(".onnx", StringComparison.Ordinal) && value.BytesDownloaded >= bytes)
            {
                cts.Cancel();
            }
        }
    }
}

public class PartialFileTests : HubTestBase
{
    private const string Repo = "test-org/tiny-clip";

    [Fact]
    public async Task A_complete_partial_file_is_verified_and_kept_without_downloading_it_again()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        FakeFile vision = repo.Files["onnx/vision_model.onnx"];
        string blobs = Path.Combine(RepoDir(Repo), "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, vision.Etag + ".incomplete"), vision.Content);
        using HubClient client = Client();

        ModelSnapshot snapshot = await client.PullAsync(ModelReference.Parse(Repo));

        Assert.Equal(vision.Content, File.ReadAllBytes(snapshot.VisionModelPath));
        Assert.DoesNotContain(Hub.Requests, r => r.IsCdn && r.PathAndQuery.Contains(vision.Etag, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_corrupt_partial_file_from_an_earlier_run_is_discarded_and_downloaded_again()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        FakeFile text = repo.Files["onnx/text_model.onnx"];
        string blobs = Path.Combine(RepoDir(Repo), "blobs");
        Directory.CreateDirectory(blobs);
        byte[] garbage = new byte[500_000];
        new Random(5).NextBytes(garbage);
        File.WriteAllBytes(Path.Combine(blobs, text.Etag + ".incomplete"), garbage);
        using HubClient client = Client();

        ModelSnapshot snapshot = await client.PullAsync(ModelReference.Parse(Repo));

        Assert.Equal(text.Etag, Sha256OfFile(snapshot.TextModelPath));
        var cdn = Hub.Requests.Where(r => r.IsCdn && r.PathAndQuery.Contains(text.Etag, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, cdn.Count);
        Assert.Equal("bytes=500000-", cdn[0].Range);
        Assert.Null(cdn[1].Range);
    }

    [Fact]
    public async Task With_CheckForUpdates_an_unreachable_Hub_falls_back_to_the_cached_snapshot()
    {
        Hub.AddTransformersJsRepo(Repo);
        var model = ModelReference.Parse(Repo);
        using (HubClient online = Client())
        {
            await online.PullAsync(model);
        }

        var options = Options(maxRetries: 0, checkForUpdates: true);
        Hub.Dispose();
        using var client = new HubClient(options);
        ModelSnapshot snapshot = await client.PullAsync(model);

        Assert.True(snapshot.FromCache);
        Assert.True(File.Exists(snapshot.VisionModelPath));
    }
}
