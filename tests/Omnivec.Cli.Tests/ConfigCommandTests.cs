namespace Omnivec.Cli.Tests;

public sealed class ConfigCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "omnivec-config-" + Guid.NewGuid().ToString("N"));

    public ConfigCommandTests() => Directory.CreateDirectory(Path.Combine(_root, "xdg", "omnivec"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string ConfigFile => Path.Combine(_root, "xdg", "omnivec", "config.json");

    private Dictionary<string, string?> Environment(params (string Key, string? Value)[] extra)
    {
        var env = new Dictionary<string, string?>
        {
            ["XDG_CONFIG_HOME"] = Path.Combine(_root, "xdg"),
            ["OMNIVEC_CONFIG"] = null,
            ["OMNIVEC_HOME"] = Path.Combine(_root, "home"),
        };
        foreach (string variable in new[] { "OMNIVEC_MODEL", "OMNIVEC_VARIANT", "OMNIVEC_PROVIDER", "OMNIVEC_STORE", "OMNIVEC_COLLECTION", "OMNIVEC_URLS", "OMNIVEC_MAX_BATCH_SIZE", "OMNIVEC_CORS_ORIGINS" })
        {
            env[variable] = null;
        }

        foreach ((string key, string? value) in extra)
        {
            env[key] = value;
        }

        return env;
    }

    private static string Row(CliResult result, string name) =>
        Assert.Single(result.Lines, l => l.StartsWith(name + " ", StringComparison.Ordinal));

    [Fact]
    public async Task Without_config_it_shows_the_built_in_defaults_and_where_it_looked()
    {
        CliResult result = await CliRunner.RunAsync(["config", "show"], Environment());
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal($"config file: {ConfigFile} (not found; optional)", result.Lines[0]);
        Assert.Matches(@"^model\s+Xenova/clip-vit-base-patch32\s+default$", Row(result, "model"));
        Assert.Matches(@"^collection\s+default\s+default$", Row(result, "collection"));
        Assert.Contains(Path.Combine(_root, "home", "collections"), Row(result, "store"));
        Assert.EndsWith("default ($OMNIVEC_HOME/collections)", Row(result, "store"));
        Assert.Matches(@"^server\.urls\s+http://127\.0\.0\.1:8080\s+default$", Row(result, "server.urls"));
    }

    [Fact]
    public async Task The_config_file_sets_defaults_environment_variables_override_it_and_flags_win()
    {
        string store = Path.Combine(_root, "my-store");
        await File.WriteAllTextAsync(ConfigFile, $$"""
            {
              // comments are allowed
              "model": "{{CliRunner.ModelHf.Replace("\\", "\\\\")}}",
              "collection": "from-file",
              "store": "{{store.Replace("\\", "\\\\")}}",
              "server": { "urls": ["http://127.0.0.1:9000"], "maxBatchSize": 8 }
            }
            """);

        CliResult fromFile = await CliRunner.RunAsync(["config", "show"], Environment());
        Assert.True(fromFile.ExitCode == 0, fromFile.StdErr);
        Assert.Equal($"config file: {ConfigFile} (found)", fromFile.Lines[0]);
        Assert.EndsWith("config file " + ConfigFile, Row(fromFile, "collection"));
        Assert.Contains("from-file", Row(fromFile, "collection"));
        Assert.Contains(CliRunner.ModelHf, Row(fromFile, "model"));
        Assert.Matches(@"^server\.maxBatchSize\s+8\s+config file ", Row(fromFile, "server.maxBatchSize"));

        CliResult fromEnv = await CliRunner.RunAsync(["config", "show"], Environment(("OMNIVEC_COLLECTION", "from-env")));
        Assert.Matches(@"^collection\s+from-env\s+environment OMNIVEC_COLLECTION$", Row(fromEnv, "collection"));

        CliResult fromFlag = await CliRunner.RunAsync(["config", "show", "--collection", "from-flag"], Environment(("OMNIVEC_COLLECTION", "from-env")));
        Assert.Matches(@"^collection\s+from-flag\s+flag --collection$", Row(fromFlag, "collection"));

        // And the commands use them: index with no flags goes to the configured store, collection and model.
        string photos = Path.Combine(_root, "photos");
        Directory.CreateDirectory(photos);
        File.Copy(CliRunner.Photo("bananas.jpg"), Path.Combine(photos, "bananas.jpg"));
        CliResult index = await CliRunner.RunAsync(["index", photos], Environment());
        Assert.True(index.ExitCode == 0, index.StdErr);
        Assert.True(File.Exists(Path.Combine(store, "from-file", "collection.db")), index.StdOut + index.StdErr);
        CliResult list = await CliRunner.RunAsync(["collections"], Environment());
        Assert.Contains("from-file", list.StdOut);
        Assert.Contains("tiny-clip-hf", list.StdOut);
    }

    [Fact]
    public async Task A_broken_or_unknown_setting_in_the_config_file_is_a_clear_error()
    {
        await File.WriteAllTextAsync(ConfigFile, "{ \"model\": ");
        CliResult broken = await CliRunner.RunAsync(["config", "show"], Environment());
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains(ConfigFile + " is not valid JSON", broken.StdErr);
        Assert.DoesNotContain("   at ", broken.StdErr);

        await File.WriteAllTextAsync(ConfigFile, "{ \"modle\": \"x\" }");
        CliResult unknown = await CliRunner.RunAsync(["search", "a dog"], Environment());
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("unknown setting 'modle'", unknown.StdErr);
        Assert.DoesNotContain("   at ", unknown.StdErr);
    }
}
