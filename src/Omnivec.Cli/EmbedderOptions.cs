using System.CommandLine;

namespace Omnivec.Cli;

/// <summary>Which embedder a command uses: a local model (default) or a cloud provider, with each one's settings.</summary>
internal sealed class EmbedderOptions
{
    public ModelOptions Model { get; } = new();

    public Option<string> Provider { get; } = new("--provider")
    {
        Description = "local (default: a CLIP model run here), google (Vertex AI multimodal embeddings) or azure (Azure AI Vision).",
        DefaultValueFactory = _ => CliSettings.Current.Value("provider") ?? "local",
    };

    public Option<string?> GoogleProject { get; } = new("--google-project") { Description = "Google Cloud project id (or GOOGLE_CLOUD_PROJECT)." };
    public Option<string?> GoogleLocation { get; } = new("--google-location") { Description = "Vertex AI region, e.g. us-central1 (or GOOGLE_CLOUD_LOCATION)." };
    public Option<string?> GoogleEndpoint { get; } = new("--google-endpoint") { Description = "Base URL overriding https://{location}-aiplatform.googleapis.com." };
    public Option<int?> Dimensions { get; } = new("--dimensions") { Description = "Google only: 128, 256, 512 or 1408 (default)." };
    public Option<string?> AzureEndpoint { get; } = new("--azure-endpoint") { Description = "Azure AI Vision endpoint, e.g. https://<name>.cognitiveservices.azure.com (or AZURE_VISION_ENDPOINT)." };
    public Option<string?> AzureModelVersion { get; } = new("--azure-model-version") { Description = "2023-04-15 (default) or 2022-04-11." };

    /// <summary>Longest recording the audio reader of a local model accepts, when a command asks for more than its default (index --max-duration).</summary>
    public TimeSpan? MaxMediaDuration { get; set; }

    public EmbedderOptions() => Provider.AcceptOnlyFromAmong("local", "google", "azure");

    public void AddTo(Command command)
    {
        Model.AddTo(command);
        foreach (Option option in new Option[] { Provider, GoogleProject, GoogleLocation, GoogleEndpoint, Dimensions, AzureEndpoint, AzureModelVersion })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>True when the user typed the option (as opposed to its default).</summary>
    public static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };
}
