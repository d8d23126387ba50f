using Azure.Core;

namespace Omnivec.Providers.Azure;

/// <summary>Settings for <see cref="AzureVisionEmbeddingGenerator"/>.</summary>
public sealed class AzureVisionOptions : EmbeddingServiceOptions
{
    /// <summary>Settings with the defaults (a 30 s attempt timeout).</summary>
    public AzureVisionOptions() => Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The Vision resource, e.g. https://my-vision.cognitiveservices.azure.com (required). Environment: AZURE_VISION_ENDPOINT.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>"2023-04-15" (multilingual) or "2022-04-11" (English only); their vectors are not comparable. Environment: AZURE_VISION_MODEL_VERSION.</summary>
    public string ModelVersion { get; set; } = "2023-04-15";

    /// <summary>The REST API version sent with every request.</summary>
    public string ApiVersion { get; set; } = "2024-02-01";

    /// <summary>Resource key, sent as Ocp-Apim-Subscription-Key. Environment: AZURE_VISION_KEY. When null, <see cref="TokenCredential"/> is used.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Microsoft Entra ID credential used when there is no key; null means DefaultAzureCredential.</summary>
    public TokenCredential? TokenCredential { get; set; }

    /// <summary>Options from AZURE_VISION_ENDPOINT, AZURE_VISION_KEY and AZURE_VISION_MODEL_VERSION; unset variables leave the defaults.</summary>
    public static AzureVisionOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    internal static AzureVisionOptions FromEnvironment(Func<string, string?> getVariable)
    {
        var options = new AzureVisionOptions { ApiKey = NonEmpty(getVariable("AZURE_VISION_KEY")) };
        if (NonEmpty(getVariable("AZURE_VISION_ENDPOINT")) is { } endpoint)
        {
            options.Endpoint = Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri)
                ? uri
                : throw new ModelConfigurationException($"AZURE_VISION_ENDPOINT is not an absolute URL: '{endpoint}'.");
        }

        if (NonEmpty(getVariable("AZURE_VISION_MODEL_VERSION")) is { } version)
        {
            options.ModelVersion = version;
        }

        return options;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
