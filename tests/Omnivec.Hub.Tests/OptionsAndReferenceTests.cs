using System.Net;
using Omnivec.Models;

namespace Omnivec.Hub.Tests;

public class OptionsAndReferenceTests
{
    private static Func<string, string?> Env(params (string Key, string Value)[] values)
    {
        var map = values.ToDictionary(v => v.Key, v => v.Value);
        return key => map.TryGetValue(key, out string? v) ? v : null;
    }

    [Fact]
    public void Defaults_follow_huggingface_hub()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        HubOptions options = HubOptions.FromEnvironment(Env());
        Assert.Equal(new Uri("https://huggingface.co"), options.Endpoint);
        Assert.Equal(Path.Combine(home, ".cache", "huggingface", "hub"), options.CacheDirectory);
        Assert.False(options.Offline);
        Assert.Null(options.Token);
    }

    [Fact]
    public void Environment_variables_are_read()
    {
        string hfHome = Path.Combine(Path.GetTempPath(), "omnivec-hfhome-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(hfHome);
        try
        {
            File.WriteAllText(Path.Combine(hfHome, "token"), "hf_fromfile\n");
            HubOptions fromHome = HubOptions.FromEnvironment(Env(("HF_HOME", hfHome), ("HF_HUB_OFFLINE", "1"), ("HF_ENDPOINT", "http://127.0.0.1:9/"), ("HF_HUB_DOWNLOAD_TIMEOUT", "42")));
            Assert.Equal(Path.Combine(hfHome, "hub"), fromHome.CacheDirectory);
            Assert.Equal("hf_fromfile", fromHome.Token);
            Assert.True(fromHome.Offline);
            Assert.Equal(new Uri("http://127.0.0.1:9"), fromHome.Endpoint);
            Assert.Equal(TimeSpan.FromSeconds(42), fromHome.ReadTimeout);
            Assert.DoesNotContain("hf_fromfile", fromHome.ToString(), StringComparison.Ordinal);

            HubOptions explicitCache = HubOptions.FromEnvironment(Env(("HF_HOME", hfHome), ("HF_HUB_CACHE", "/tmp/elsewhere"), ("HF_TOKEN", "hf_env"), ("HF_HUB_OFFLINE", "false")));
            Assert.Equal("/tmp/elsewhere", explicitCache.CacheDirectory);
            Assert.Equal("hf_env", explicitCache.Token);
            Assert.False(explicitCache.Offline);

            Assert.True(HubOptions.FromEnvironment(Env(("HF_HUB_OFFLINE", "TRUE"))).Offline);
            Assert.Equal("/x/huggingface/hub", HubOptions.FromEnvironment(Env(("XDG_CACHE_HOME", "/x"))).CacheDirectory);
            Assert.Throws<ModelConfigurationException>(() => HubOptions.FromEnvironment(Env(("HF_ENDPOINT", "ftp://mirror"))));
        }
        finally
        {
            Directory.Delete(hfHome, recursive: true);
        }
    }

    [Theory]
    [InlineData("Xenova/clip-vit-base-patch32", "Xenova/clip-vit-base-patch32", "main")]
    [InlineData("immich-app/ViT-B-32__openai@v1.0", "immich-app/ViT-B-32__openai", "v1.0")]
    [InlineData(" org/name@refs/pr/1 ", "org/name", "refs/pr/1")]
    public void Parse_splits_repo_and_revision(string text, string repo, string revision)
    {
        var reference = ModelReference.Parse(text);
        Assert.Equal(repo, reference.RepoId);
        Assert.Equal(revision, reference.Revision);
    }

    [Theory]
    [InlineData("just-a-name")]
    [InlineData("a/b/c")]
    [InlineData("org/na me")]
    [InlineData("org/bad--name")]
    [InlineData("org/name@")]
    [InlineData("org/name@../x")]
    public void Parse_rejects_what_the_Hub_would(string text) =>
        Assert.Throws<ModelConfigurationException>(() => ModelReference.Parse(text));

    [Fact]
    public void Reference_knows_its_cache_folder_and_commit_hashes()
    {
        Assert.Equal("models--Xenova--clip-vit-base-patch32", ModelReference.Parse(HubDefaults.DefaultModel).CacheFolderName);
        Assert.True(ModelReference.Parse("a/b@" + new string('0', 40)).IsCommitHash);
        Assert.False(ModelReference.Parse("a/b@main").IsCommitHash);
        Assert.Equal("a/b@v2", ModelReference.Parse("a/b@v2").ToString());
    }

    [Fact]
    public void An_existing_folder_wins_over_a_repo_id()
    {
        string root = Path.Combine(Path.GetTempPath(), "omnivec-src-" + Guid.NewGuid().ToString("N"));
        string folder = Path.Combine(root, "org", "name");
        Directory.CreateDirectory(folder);
        string previous = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = root;
            ModelSource local = ModelSource.Resolve("org/name");
            Assert.True(local.IsLocal);
            Assert.Equal(Path.GetFullPath(folder), local.LocalDirectory);

            ModelSource remote = ModelSource.Resolve("org/other@v1");
            Assert.False(remote.IsLocal);
            Assert.Equal(new ModelReference("org/other", "v1"), remote.Repository);

            var missingFolder = Assert.Throws<ModelConfigurationException>(() => ModelSource.Resolve("./models/clip"));
            Assert.Contains("folder not found", missingFolder.Message);
            var neither = Assert.Throws<ModelConfigurationException>(() => ModelSource.Resolve("clip"));
            Assert.Contains("org/name[@revision]", neither.Message);
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Known_models_hold_the_default_and_name_each_family_with_its_languages()
    {
        Assert.Contains(HubDefaults.KnownModels, m => m.RepoId == HubDefaults.DefaultModel && m.Dimensions == 512 && m.Layout == ClipLayoutKind.TransformersJs);
        Assert.Equal(768, HubDefaults.Find("xenova/clip-vit-large-patch14")!.Dimensions);
        Assert.Equal(Omnivec.Models.ModelFamily.MClip, HubDefaults.Find("immich-app/XLM-Roberta-Large-Vit-B-32")!.Family);
        Assert.All(HubDefaults.KnownModels.Where(m => m.Family == Omnivec.Models.ModelFamily.MClip), m => Assert.StartsWith("multilingual", m.Languages, StringComparison.Ordinal));
        Assert.Equal("en", HubDefaults.Find(HubDefaults.DefaultModel)!.Languages);
        Assert.All(HubDefaults.KnownModels, m => Assert.True(m.Languages == "en" || m.Languages.StartsWith("multilingual", StringComparison.Ordinal), m.Languages));
        Assert.Equal("audio", Assert.Single(HubDefaults.KnownModels, m => m.Family == Omnivec.Models.ModelFamily.Clap).Media);
        Assert.Equal(HubDefaults.KnownModels.Count, HubDefaults.KnownModels.Select(m => m.RepoId.ToLowerInvariant()).Distinct().Count());
        Assert.All(HubDefaults.KnownModels, m => Assert.True(ModelReference.IsValidRepoId(m.RepoId)));
    }

    [Theory]
    [InlineData("\"abc123\"", "abc123")]
    [InlineData("W/\"abc123\"", "abc123")]
    [InlineData("\"../../etc/passwd\"", null)]
    [InlineData(null, null)]
    public void ETags_are_normalized_and_unsafe_ones_refused(string? header, string? expected) =>
        Assert.Equal(expected, HubClient.NormalizeEtag(header));
}
