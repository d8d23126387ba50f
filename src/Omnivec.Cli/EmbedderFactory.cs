using System.CommandLine;
using Omnivec.Index;
using Omnivec.Models;

namespace Omnivec.Cli;

/// <summary>
/// Builds the embedder a command asked for. A collection remembers the embedder that filled it, so searching
/// needs no flags and cannot silently use another model.
/// </summary>
internal static class EmbedderFactory
{
    private const string ProviderKey = "embedder.provider";
    private const string ModelKey = "embedder.model";
    private const string VariantKey = "embedder.variant";

    public static async Task<IMultimodalEmbeddingGenerator> CreateAsync(ParseResult parse, EmbedderOptions options, IVectorCollection? collection, CancellationToken cancellationToken)
    {
        var settings = EmbedderSettings.FromCommandLine(parse, options);
        if (collection is not null)
        {
            settings = settings.FillFrom(collection, parse, options);
        }

        return settings.Provider switch
        {
            "local" => await ModelResolver.LoadAsync(settings.Model, settings.Variant, cancellationToken, options.MaxMediaDuration).ConfigureAwait(false),
            "google" => ProviderFactory.CreateGoogle(settings),
            "azure" => ProviderFactory.CreateAzure(settings),
            _ => throw new InvalidInputException($"Unknown provider '{settings.Provider}': use local, google or azure."),
        };
    }

    /// <summary>Records in the collection how its vectors were made (never secrets).</summary>
    public static void Remember(IVectorCollection collection, ParseResult parse, EmbedderOptions options)
    {
        var settings = EmbedderSettings.FromCommandLine(parse, options);
        if (collection.GetIndexState(ProviderKey) is not null)
        {
            // Flags not typed this time keep what the collection recorded (not the built-in defaults).
            settings = settings.FillFrom(collection, parse, options);
        }

        collection.SetIndexState(ProviderKey, settings.Provider);
        if (settings.Provider == "local")
        {
            string model = Directory.Exists(settings.Model) ? Path.GetFullPath(settings.Model) : settings.Model;
            collection.SetIndexState(ModelKey, model);
            collection.SetIndexState(VariantKey, settings.VariantText);
        }

        foreach ((string key, string? value) in settings.ProviderValues())
        {
            if (value is not null)
            {
                collection.SetIndexState(key, value);
            }
        }
    }

    /// <summary>Copies what <paramref name="source"/> recorded about its embedder to <paramref name="target"/> (collections copy).</summary>
    public static void CopyRemembered(IVectorCollection source, IVectorCollection target)
    {
        string[] keys = [ProviderKey, ModelKey, VariantKey, "google.project", "google.location", "google.endpoint", "google.dimensions", "azure.endpoint", "azure.modelVersion"];
        foreach (string key in keys)
        {
            if (source.GetIndexState(key) is { } value)
            {
                target.SetIndexState(key, value);
            }
        }
    }

    internal sealed record EmbedderSettings(string Provider, string Model, string VariantText, string? GoogleProject, string? GoogleLocation,
        string? GoogleEndpoint, int? Dimensions, string? AzureEndpoint, string? AzureModelVersion)
    {
        public ModelVariant Variant => ClipModelLayout.ParseVariant(VariantText);

        public static EmbedderSettings FromCommandLine(ParseResult parse, EmbedderOptions o) => new(
            (parse.GetValue(o.Provider) ?? "local").Trim().ToLowerInvariant(),
            parse.GetValue(o.Model.Model)!,
            parse.GetValue(o.Model.Variant) ?? "fp32",
            parse.GetValue(o.GoogleProject),
            parse.GetValue(o.GoogleLocation),
            parse.GetValue(o.GoogleEndpoint),
            parse.GetValue(o.Dimensions),
            parse.GetValue(o.AzureEndpoint),
            parse.GetValue(o.AzureModelVersion));

        public IEnumerable<(string Key, string? Value)> ProviderValues() =>
        [
            ("google.project", GoogleProject), ("google.location", GoogleLocation), ("google.endpoint", GoogleEndpoint),
            ("google.dimensions", Dimensions?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("azure.endpoint", AzureEndpoint), ("azure.modelVersion", AzureModelVersion),
        ];

        /// <summary>Anything not typed on this command line comes from what the collection recorded.</summary>
        public EmbedderSettings FillFrom(IVectorCollection collection, ParseResult parse, EmbedderOptions o)
        {
            string? Stored(string key) => collection.GetIndexState(key);
            string provider = EmbedderOptions.Given(parse, o.Provider) ? Provider : Stored(ProviderKey) ?? collection.Space.Provider;
            return this with
            {
                Provider = provider,
                Model = EmbedderOptions.Given(parse, o.Model.Model) ? Model : Stored(ModelKey) ?? collection.Space.ModelId,
                VariantText = EmbedderOptions.Given(parse, o.Model.Variant) ? VariantText : Stored(VariantKey) ?? VariantText,
                GoogleProject = GoogleProject ?? Stored("google.project"),
                GoogleLocation = GoogleLocation ?? Stored("google.location"),
                GoogleEndpoint = GoogleEndpoint ?? Stored("google.endpoint"),
                Dimensions = Dimensions ?? (int.TryParse(Stored("google.dimensions"), System.Globalization.CultureInfo.InvariantCulture, out int d) ? d : null),
                AzureEndpoint = AzureEndpoint ?? Stored("azure.endpoint"),
                AzureModelVersion = AzureModelVersion ?? Stored("azure.modelVersion"),
            };
        }
    }
}
