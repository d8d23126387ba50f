using System.Globalization;
using System.Text.Json;
using Omnivec.Index;

namespace Omnivec.Cli;

/// <summary>One effective setting and where it came from.</summary>
internal sealed record Setting(string Name, string? Value, string Source);

/// <summary>
/// Defaults for the command-line options: built-in values, overridden by the optional config file
/// (<c>$OMNIVEC_CONFIG</c>, else <c>$XDG_CONFIG_HOME/omnivec/config.json</c>, else <c>~/.config/omnivec/config.json</c>),
/// overridden by environment variables; flags typed on the command line win over all of them.
/// </summary>
internal sealed class CliSettings
{
    /// <summary>The settings: config file key, environment variable, built-in default (null: computed or none).</summary>
    internal static readonly (string Key, string Variable, string? Default, string Help)[] Known =
    [
        ("model", "OMNIVEC_MODEL", ModelOptions.DefaultModel, "model folder or Hub repo id (--model)"),
        ("variant", "OMNIVEC_VARIANT", "fp32", "fp32, fp16 or quantized (--variant)"),
        ("provider", "OMNIVEC_PROVIDER", "local", "local, google or azure (--provider)"),
        ("store", "OMNIVEC_STORE", null, "folder of collections (--store); default $OMNIVEC_HOME/collections or ~/.local/share/omnivec/collections"),
        ("collection", "OMNIVEC_COLLECTION", "default", "collection name (--collection)"),
        ("language", "OMNIVEC_LANGUAGE", null, "query language for models that take one (NLLB-CLIP): deu_Latn, de, zh-TW, … (--language); default the locale's language (LC_ALL, LC_MESSAGES, LANG), else eng_Latn"),
        ("server.urls", "OMNIVEC_URLS", "http://127.0.0.1:8080", "serve: addresses, comma-separated (--urls)"),
        ("server.maxBatchSize", "OMNIVEC_MAX_BATCH_SIZE", "32", "serve: inputs per model run (--max-batch-size)"),
        ("server.corsOrigins", "OMNIVEC_CORS_ORIGINS", null, "serve: allowed origins, comma-separated (--cors-origin)"),
    ];

    private static readonly Lazy<CliSettings> s_current = new(() => Load(Environment.GetEnvironmentVariable));

    private readonly Dictionary<string, Setting> _settings;

    private CliSettings(string configPath, bool configFound, Dictionary<string, Setting> settings)
    {
        ConfigPath = configPath;
        ConfigFound = configFound;
        _settings = settings;
    }

    /// <summary>The settings of this process (environment and config file read once).</summary>
    public static CliSettings Current => s_current.Value;

    public string ConfigPath { get; }

    public bool ConfigFound { get; }

    public IEnumerable<Setting> All => Known.Select(k => _settings[k.Key]);

    public Setting this[string key] => _settings[key];

    public string? Value(string key) => _settings[key].Value;

    /// <summary>A comma-separated setting as a list.</summary>
    public string[] List(string key) =>
        (Value(key) ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    public int Int(string key) => int.TryParse(Value(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)
        ? n
        : throw new InvalidInputException($"Setting {key} must be a whole number; got '{Value(key)}' (from {_settings[key].Source}).");

    /// <summary>Where the config file is looked for.</summary>
    public static string DefaultConfigPath(Func<string, string?> env)
    {
        if (env("OMNIVEC_CONFIG") is { Length: > 0 } explicitPath)
        {
            return Path.GetFullPath(explicitPath);
        }

        string configHome = env("XDG_CONFIG_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(env("HOME") is { Length: > 0 } home ? home : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(configHome, "omnivec", "config.json");
    }

    public static CliSettings Load(Func<string, string?> env)
    {
        string path = DefaultConfigPath(env);
        bool found = File.Exists(path);
        Dictionary<string, string> file = found ? ReadFile(path) : [];
        var settings = new Dictionary<string, Setting>(StringComparer.Ordinal);
        foreach ((string key, string variable, string? fallback, _) in Known)
        {
            if (env(variable) is { Length: > 0 } fromEnv)
            {
                settings[key] = new Setting(key, fromEnv, "environment " + variable);
            }
            else if (file.TryGetValue(key, out string? fromFile))
            {
                settings[key] = new Setting(key, fromFile, "config file " + path);
            }
            else if (key == "store")
            {
                settings[key] = new Setting(key, CollectionStore.DefaultRoot, env("OMNIVEC_HOME") is { Length: > 0 } ? "default ($OMNIVEC_HOME/collections)" : "default");
            }
            else
            {
                settings[key] = new Setting(key, fallback, "default");
            }
        }

        return new CliSettings(path, found, settings);
    }

    /// <summary>Reads the config file: a JSON object with the keys above (server settings nested under "server").</summary>
    private static Dictionary<string, string> ReadFile(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using FileStream stream = File.OpenRead(path);
            using JsonDocument doc = JsonDocument.Parse(stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidInputException($"{path} must hold a JSON object, like {{\"model\": \"Xenova/clip-vit-base-patch32\"}}.");
            }

            Flatten(doc.RootElement, "", values, path);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"{path} is not valid JSON (line {e.LineNumber + 1}): {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot read {path}: {e.Message}", e);
        }

        return values;
    }

    private static void Flatten(JsonElement element, string prefix, Dictionary<string, string> values, string path)
    {
        foreach (JsonProperty property in element.EnumerateObject())
        {
            string key = prefix + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                Flatten(property.Value, key + ".", values, path);
                continue;
            }

            string? known = Known.Select(k => k.Key).FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));
            if (known is null)
            {
                throw new InvalidInputException($"{path}: unknown setting '{key}'. Known: {string.Join(", ", Known.Select(k => k.Key))}.");
            }

            values[known] = property.Value.ValueKind switch
            {
                JsonValueKind.String => property.Value.GetString()!,
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                JsonValueKind.Array => string.Join(',', property.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText())),
                _ => throw new InvalidInputException($"{path}: setting '{key}' must be a string, number, boolean or list."),
            };
        }
    }
}
