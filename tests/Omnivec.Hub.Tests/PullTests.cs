using Omnivec.Models;

namespace Omnivec.Hub.Tests;

public class PullTests : HubTestBase
{
    private const string Repo = "test-org/tiny-clip";

    [Fact]
    public async Task First_pull_lands_in_the_huggingface_hub_layout()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        using HubClient client = Client();

        ModelSnapshot snapshot = await client.PullAsync(ModelReference.Parse(Repo));

        string repoDir = RepoDir(Repo);
        Assert.Equal(repo.Commit, snapshot.Commit);
        Assert.False(snapshot.FromCache);
        Assert.Equal(Path.Combine(repoDir, "snapshots", repo.Commit), snapshot.Directory);
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(repoDir, "refs", "main")));

        var expected = new[]
        {
            "config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
            "special_tokens_map.json", "onnx/text_model.onnx", "onnx/vision_model.onnx",
        };
        Assert.Equal(expected.Order(), snapshot.Files.AllFiles.Order());
        foreach (string path in expected)
        {
            FakeFile file = repo.Files[path];
            string pointer = snapshot.PathOf(path);
            var info = new FileInfo(pointer);
            // A relative symlink into blobs/<etag>, exactly as huggingface_hub makes it.
            int depth = path.Count(c => c == '/');
            string expectedTarget = string.Concat(Enumerable.Repeat("../", depth + 2)) + "blobs/" + file.Etag;
            Assert.Equal(expectedTarget, info.LinkTarget);
            Assert.Equal(file.Content, File.ReadAllBytes(pointer));
            Assert.True(File.Exists(Path.Combine(repoDir, "blobs", file.Etag)));
        }

        // LFS blobs are named by sha256, regular files by their git blob sha1.
        Assert.Equal(64, repo.Files["onnx/text_model.onnx"].Etag.Length);
        Assert.Equal(40, repo.Files["config.json"].Etag.Length);
        Assert.Equal(expected.Length, Directory.GetFiles(Path.Combine(repoDir, "blobs")).Length);
        Assert.Empty(Directory.GetFiles(repoDir, "*.incomplete", SearchOption.AllDirectories));
        Assert.False(File.Exists(snapshot.PathOf("onnx/model.onnx")));
        Assert.False(File.Exists(snapshot.PathOf("README.md")));
        Assert.Equal(snapshot.PathOf("onnx/text_model.onnx"), snapshot.TextModelPath);

        // One info request, one resolve per file, one CDN request per LFS file.
        IReadOnlyList<RequestRecord> requests = Hub.Requests;
        Assert.Single(requests, r => r.IsInfo);
        Assert.Equal(expected.Length, requests.Count(r => r.IsResolve));
        Assert.Equal(2, requests.Count(r => r.IsCdn));
    }

    [Fact]
    public async Task A_complete_cached_model_is_served_without_any_request()
    {
        Hub.AddTransformersJsRepo(Repo);
        var model = ModelReference.Parse(Repo);
        using (HubClient first = Client())
        {
            await first.PullAsync(model);
        }

        Hub.ClearRequests();
        using HubClient client = Client();
        ModelSnapshot? cached = client.TryGetCached(model);
        Assert.NotNull(cached);
        ModelSnapshot again = await client.PullAsync(model);

        Assert.True(again.FromCache);
        Assert.Equal(cached.Directory, again.Directory);
        Assert.Empty(Hub.Requests);
    }

    [Fact]
    public async Task CheckForUpdates_costs_one_info_request_and_fetches_only_what_a_new_commit_changed()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        var model = ModelReference.Parse(Repo);
        using HubClient client = Client(checkForUpdates: true);
        ModelSnapshot first = await client.PullAsync(model);

        Hub.ClearRequests();
        ModelSnapshot same = await client.PullAsync(model);
        Assert.Equal(first.Commit, same.Commit);
        Assert.True(same.FromCache);
        Assert.Single(Hub.Requests);
        Assert.True(Hub.Requests[0].IsInfo);

        // main moves: a new commit changes only the vision model; everything else is linked from existing blobs.
        string oldCommit = repo.Commit;
        repo.Commit = FakeRepo.NewCommit();
        FakeFile newVision = repo.AddRandom("onnx/vision_model.onnx", 1024 * 1024, seed: 99);
        Hub.ClearRequests();
        ModelSnapshot updated = await client.PullAsync(model);

        Assert.Equal(repo.Commit, updated.Commit);
        Assert.False(updated.FromCache);
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(RepoDir(Repo), "refs", "main")));
        Assert.Equal(newVision.Content, File.ReadAllBytes(updated.VisionModelPath));
        Assert.Equal(repo.Files["onnx/text_model.onnx"].Content, File.ReadAllBytes(updated.TextModelPath));
        Assert.Equal(1, Hub.Requests.Count(r => r.IsResolve));
        Assert.Equal(1, Hub.Requests.Count(r => r.IsCdn));
        // The old snapshot stays usable by commit hash.
        Assert.NotNull(client.TryGetCached(new ModelReference(Repo, oldCommit)));
    }

    [Fact]
    public async Task Offline_mode_uses_the_cache_and_fails_clearly_without_it()
    {
        Hub.AddTransformersJsRepo(Repo);
        var model = ModelReference.Parse(Repo);
        using (HubClient online = Client())
        {
            await online.PullAsync(model);
        }

        Hub.ClearRequests();
        using HubClient offline = Client(offline: true);
        ModelSnapshot snapshot = await offline.PullAsync(model);
        Assert.True(File.Exists(snapshot.TextModelPath));

        var error = await Assert.ThrowsAsync<HubException>(() => offline.PullAsync(model, ModelVariant.Fp16));
        Assert.Equal(HubErrorKind.Offline, error.Kind);
        Assert.Contains("HF_HUB_OFFLINE", error.Message);
        Assert.Contains("--model", error.Message);
        Assert.Contains("fp16", error.Message);

        var missing = await Assert.ThrowsAsync<HubException>(() => offline.PullAsync(ModelReference.Parse("other/model")));
        Assert.Equal(HubErrorKind.Offline, missing.Kind);
        Assert.Empty(Hub.Requests);
    }

    [Fact]
    public async Task A_dropped_connection_is_resumed_with_a_Range_request()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        FakeFile vision = repo.Files["onnx/vision_model.onnx"];
        const long dropAt = 1024 * 1024 + 4096;
        Hub.DropOnce(vision.Path, dropAt);
        using HubClient client = Client();

        ModelSnapshot snapshot = await client.PullAsync(ModelReference.Parse(Repo));

        Assert.Equal(vision.Etag, Sha256OfFile(snapshot.VisionModelPath));
        var cdn = Hub.Requests.Where(r => r.IsCdn && r.PathAndQuery.Contains(vision.Etag, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, cdn.Count);
        Assert.Null(cdn[0].Range);
        Assert.NotNull(cdn[1].Range);
        long resumedAt = long.Parse(cdn[1].Range!["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(resumedAt, 1, dropAt);
    }

    [Fact]
    public async Task A_failed_pull_changes_nothing_visible_and_the_next_pull_resumes()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        FakeFile vision = repo.Files["onnx/vision_model.onnx"];
        Hub.DropOnce(vision.Path, 2 * 1024 * 1024);
        var model = ModelReference.Parse(Repo);

        using (HubClient noRetries = Client(maxRetries: 0))
        {
            var error = await Assert.ThrowsAsync<HubException>(() => noRetries.PullAsync(model));
            Assert.Equal(HubErrorKind.Network, error.Kind);
            Assert.Contains("onnx/vision_model.onnx", error.Message);
        }

        string repoDir = RepoDir(Repo);
        Assert.False(File.Exists(Path.Combine(repoDir, "refs", "main")));
        Assert.False(File.Exists(Path.Combine(repoDir, "snapshots", repo.Commit, "onnx", "vision_model.onnx")));
        Assert.False(File.Exists(Path.Combine(repoDir, "blobs", vision.Etag)));
        string incomplete = Path.Combine(repoDir, "blobs", vision.Etag + ".incomplete");
        Assert.True(new FileInfo(incomplete).Length > 0);
        using HubClient probe = Client();
        Assert.Null(probe.TryGetCached(model));

        Hub.ClearRequests();
        using HubClient client = Client();
        ModelSnapshot snapshot = await client.PullAsync(model);
        Assert.Equal(vision.Etag, Sha256OfFile(snapshot.VisionModelPath));
        Assert.Contains(Hub.Requests, r => r.IsCdn && r.Range is not null);
        // Files finished by the failed pull are not fetched again.
        Assert.Equal(1, Hub.Requests.Count(r => r.IsResolve));
        Assert.False(File.Exists(incomplete));
    }

    [Fact]
    public async Task A_corrupted_download_is_rejected_by_its_hash_and_nothing_is_kept()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        FakeFile text = repo.Files["onnx/text_model.onnx"];
        Hub.Corrupt.Add(text.Path);
        using HubClient client = Client();

        var error = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(ModelReference.Parse(Repo)));

        Assert.Equal(HubErrorKind.Integrity, error.Kind);
        Assert.Contains("onnx/text_model.onnx", error.Message);
        Assert.Contains(text.Etag, error.Message);
        string repoDir = RepoDir(Repo);
        Assert.False(File.Exists(Path.Combine(repoDir, "snapshots", repo.Commit, "onnx", "text_model.onnx")));
        Assert.False(File.Exists(Path.Combine(repoDir, "blobs", text.Etag)));
        Assert.False(File.Exists(Path.Combine(repoDir, "blobs", text.Etag + ".incomplete")));
        Assert.False(File.Exists(Path.Combine(repoDir, "refs", "main")));
    }

    [Fact]
    public async Task A_corrupted_regular_file_is_rejected_by_its_git_blob_id()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        Hub.Corrupt.Add("tokenizer.json");
        using HubClient client = Client();

        var error = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(ModelReference.Parse(Repo)));

        Assert.Equal(HubErrorKind.Integrity, error.Kind);
        Assert.Contains("tokenizer.json", error.Message);
        Assert.False(File.Exists(Path.Combine(RepoDir(Repo), "blobs", repo.Files["tokenizer.json"].Etag)));
    }

    [Fact]
    public async Task Rate_limiting_is_retried_after_Retry_After()
    {
        Hub.AddTransformersJsRepo(Repo);
        Hub.RateLimit(1);
        using HubClient client = Client();
        var watch = System.Diagnostics.Stopwatch.StartNew();

        ModelSnapshot snapshot = await client.PullAsync(ModelReference.Parse(Repo));

        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), $"took {watch.Elapsed}");
        Assert.True(File.Exists(snapshot.VisionModelPath));
        Assert.Equal(2, Hub.Requests.Count(r => r.IsInfo));
    }

    [Fact]
    public async Task Persistent_server_errors_end_in_a_ServerError_after_the_retries()
    {
        Hub.AddTransformersJsRepo(Repo);
        Hub.FailWith503(100);
        using HubClient client = Client(maxRetries: 2);

        var error = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(ModelReference.Parse(Repo)));

        Assert.Equal(HubErrorKind.ServerError, error.Kind);
        Assert.Equal(503, error.StatusCode);
        Assert.Equal(3, Hub.Requests.Count);
    }

    [Fact]
    public async Task Concurrent_pulls_of_one_model_download_each_blob_once_and_all_succeed()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        Hub.ChunkDelay = TimeSpan.FromMilliseconds(2);
        var model = ModelReference.Parse(Repo);
        var clients = Enumerable.Range(0, 4).Select(_ => Client()).ToList();
        try
        {
            ModelSnapshot[] results = await Task.WhenAll(clients.Select(c => Task.Run(() => c.PullAsync(model))));

            Assert.All(results, r => Assert.Equal(repo.Commit, r.Commit));
            foreach (FakeFile lfs in repo.Files.Values.Where(f => f.Lfs && results[0].Files.AllFiles.Contains(f.Path)))
            {
                Assert.Equal(lfs.Etag, Sha256OfFile(Path.Combine(RepoDir(Repo), "blobs", lfs.Etag)));
                Assert.All(results, r => Assert.Equal(lfs.Etag, Sha256OfFile(r.PathOf(lfs.Path))));
                Assert.Equal(1, Hub.Requests.Count(r => r.IsCdn && r.PathAndQuery.Contains(lfs.Etag, StringComparison.Ordinal)));
            }

            Assert.Empty(Directory.GetFiles(RepoDir(Repo), "*.incomplete", SearchOption.AllDirectories));
            Assert.Empty(Directory.GetFiles(RepoDir(Repo), "*.tmp", SearchOption.AllDirectories));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task The_token_goes_to_the_Hub_but_never_to_the_CDN()
    {
        Hub.AddTransformersJsRepo(Repo);
        Hub.RequiredToken = "hf_secret";
        using HubClient client = Client(token: "hf_secret");

        await client.PullAsync(ModelReference.Parse(Repo));

        IReadOnlyList<RequestRecord> requests = Hub.Requests;
        Assert.All(requests.Where(r => r.Port == Hub.HubPort), r => Assert.Equal("Bearer hf_secret", r.Authorization));
        Assert.Equal(2, requests.Count(r => r.Port == Hub.CdnPort));
        Assert.All(requests.Where(r => r.Port == Hub.CdnPort), r => Assert.Null(r.Authorization));
    }

    [Fact]
    public async Task A_relative_redirect_of_a_renamed_repo_keeps_the_token()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo("new-org/tiny-clip");
        Hub.Renamed["old-org/tiny-clip"] = "new-org/tiny-clip";
        Hub.RequiredToken = "hf_secret";
        using HubClient client = Client(token: "hf_secret");

        ModelSnapshot snapshot = await client.PullAsync(ModelReference.Parse("old-org/tiny-clip"));

        Assert.Equal(repo.Commit, snapshot.Commit);
        Assert.Contains(Hub.Requests, r => r.PathAndQuery.StartsWith("/new-org/", StringComparison.Ordinal) && r.Authorization == "Bearer hf_secret");
        Assert.DoesNotContain(Hub.Requests, r => r.Port == Hub.HubPort && r.Authorization is null);
        // The cache folder is named after the id that was asked for, as huggingface_hub does.
        Assert.StartsWith(RepoDir("old-org/tiny-clip"), snapshot.Directory, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_token_a_protected_repo_is_Unauthorized_and_names_HF_TOKEN()
    {
        Hub.AddTransformersJsRepo(Repo);
        Hub.RequiredToken = "hf_secret";
        using HubClient client = Client();

        var error = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(ModelReference.Parse(Repo)));

        Assert.Equal(HubErrorKind.Unauthorized, error.Kind);
        Assert.Equal(401, error.StatusCode);
        Assert.Contains("HF_TOKEN", error.Message);
        Assert.Contains("request access", error.Message);

        using HubClient wrongToken = Client(token: "hf_wrong");
        var rejected = await Assert.ThrowsAsync<HubException>(() => wrongToken.PullAsync(ModelReference.Parse(Repo)));
        Assert.Contains("not accepted", rejected.Message);
    }

    [Fact]
    public async Task An_Immich_layout_repo_is_pulled_without_its_hardware_specific_files()
    {
        FakeRepo repo = Hub.AddImmichRepo("immich-app/ViT-T-test");
        using HubClient client = Client();

        ModelSnapshot snapshot = await client.PullAsync(ModelReference.Parse("immich-app/ViT-T-test"));

        Assert.Equal(ClipLayoutKind.Immich, snapshot.Files.Kind);
        Assert.Equal(repo.Files["textual/model.onnx"].Content, File.ReadAllBytes(snapshot.TextModelPath));
        Assert.Equal(repo.Files["visual/model.onnx"].Content, File.ReadAllBytes(snapshot.VisionModelPath));
        Assert.True(File.Exists(snapshot.PathOf("visual/preprocess_cfg.json")));
        Assert.True(File.Exists(snapshot.PathOf("textual/tokenizer.json")));
        Assert.False(Directory.Exists(snapshot.PathOf("textual/armnn")));
        Assert.Equal(ClipLayoutKind.Immich, ClipModelLayout.SelectFromDirectory(snapshot.Directory).Kind);

        var error = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(ModelReference.Parse("immich-app/ViT-T-test"), ModelVariant.Fp16));
        Assert.Equal(HubErrorKind.UnsupportedModel, error.Kind);
        Assert.Contains("fp32", error.Message);
    }

    [Fact]
    public async Task Not_found_errors_name_the_repo_the_revision_or_the_file()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        using HubClient client = Client();

        var noRepo = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(ModelReference.Parse("nobody/nothing")));
        Assert.Equal(HubErrorKind.NotFound, noRepo.Kind);
        Assert.Contains("Repository nobody/nothing", noRepo.Message);
        // Without a token the Hub answers 401 RepoNotFound (it might be private): still NotFound, with a hint about HF_TOKEN.
        Assert.Equal(401, noRepo.StatusCode);
        Assert.Contains("HF_TOKEN", noRepo.Message);
        using (HubClient withToken = Client(token: "hf_any"))
        {
            var noRepoAuthenticated = await Assert.ThrowsAsync<HubException>(() => withToken.PullAsync(ModelReference.Parse("nobody/nothing")));
            Assert.Equal(HubErrorKind.NotFound, noRepoAuthenticated.Kind);
            Assert.Equal(404, noRepoAuthenticated.StatusCode);
        }

        var noRevision = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(ModelReference.Parse(Repo + "@v9")));
        Assert.Equal(HubErrorKind.NotFound, noRevision.Kind);
        Assert.Contains("Revision 'v9'", noRevision.Message);

        repo.Unresolvable.Add("tokenizer.json");
        var noFile = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(ModelReference.Parse(Repo)));
        Assert.Equal(HubErrorKind.NotFound, noFile.Kind);
        Assert.Contains("File tokenizer.json", noFile.Message);
        Assert.Contains(Repo, noFile.Message);
        Assert.False(File.Exists(Path.Combine(RepoDir(Repo), "refs", "main")));
    }

    [Fact]
    public async Task A_repo_that_is_not_a_clip_layout_is_refused_before_any_download()
    {
        FakeRepo repo = Hub.AddRepo("someone/bert");
        repo.AddText("config.json", "{}");
        repo.AddRandom("model.onnx", 1000, 3);
        using HubClient client = Client();

        var error = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(ModelReference.Parse("someone/bert")));

        Assert.Equal(HubErrorKind.UnsupportedModel, error.Kind);
        Assert.Contains("Transformers.js layout", error.Message);
        Assert.Contains("Immich layout", error.Message);
        Assert.Single(Hub.Requests);
    }

    [Fact]
    public async Task An_unreachable_Hub_is_a_Network_error_that_says_how_to_work_offline()
    {
        var closed = new Uri("http://127.0.0.1:" + FreeClosedPort());
        using var client = new HubClient(Options(maxRetries: 1, endpoint: closed));

        var error = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(ModelReference.Parse(Repo)));

        Assert.Equal(HubErrorKind.Network, error.Kind);
        Assert.Contains("HF_ENDPOINT", error.Message);
        Assert.Contains("HF_HUB_OFFLINE", error.Message);
        Assert.Contains("--model", error.Message);
    }

    [Fact]
    public async Task Pulling_another_variant_fetches_only_its_model_files()
    {
        Hub.AddTransformersJsRepo(Repo);
        var model = ModelReference.Parse(Repo);
        using HubClient client = Client();
        await client.PullAsync(model);
        Hub.ClearRequests();

        ModelSnapshot fp16 = await client.PullAsync(model, ModelVariant.Fp16);

        Assert.Equal("onnx/text_model_fp16.onnx", fp16.Files.TextModel);
        Assert.True(File.Exists(fp16.VisionModelPath));
        Assert.Single(Hub.Requests, r => r.IsInfo);
        Assert.Equal(2, Hub.Requests.Count(r => r.IsResolve));
        Assert.Equal(2, Hub.Requests.Count(r => r.IsCdn));
        Assert.NotNull(client.TryGetCached(model, ModelVariant.Fp32));
        Assert.NotNull(client.TryGetCached(model, ModelVariant.Fp16));
        Assert.Null(client.TryGetCached(model, ModelVariant.Quantized));
    }

    [Fact]
    public async Task Progress_reaches_every_file_and_the_full_size()
    {
        FakeRepo repo = Hub.AddTransformersJsRepo(Repo);
        var reports = new List<DownloadProgress>();
        var progress = new SyncProgress(reports);
        using HubClient client = Client();

        ModelSnapshot snapshot = await client.PullAsync(ModelReference.Parse(Repo), progress: progress);

        long total = snapshot.Files.AllFiles.Sum(f => (long)repo.Files[f].Content.Length);
        DownloadProgress last = reports[^1];
        Assert.Equal(9, last.FileCount);
        Assert.Equal(9, last.FilesCompleted);
        Assert.Equal(total, last.OverallTotalBytes);
        Assert.Equal(total, last.OverallBytesDownloaded);
        Assert.All(reports.Zip(reports.Skip(1)), p => Assert.True(p.Second.OverallBytesDownloaded >= p.First.OverallBytesDownloaded));
        Assert.Contains(reports, r => r.File == "onnx/vision_model.onnx" && r.TotalBytes == repo.Files["onnx/vision_model.onnx"].Content.Length);
    }

    private static int FreeClosedPort()
    {
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; this records synchronously, in order.</summary>
    private sealed class SyncProgress(List<DownloadProgress> sink) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value)
        {
            lock (sink)
            {
                sink.Add(value);
            }
        }
    }
}
