using Omnivec.Providers.Azure;
using Omnivec.Providers.Google;

namespace Omnivec.Cli;

/// <summary>Cloud providers from command-line settings over the environment. Secrets come only from the environment or credential chains.</summary>
internal static class ProviderFactory
{
    public static IMultimodalEmbeddingGenerator CreateGoogle(EmbedderFactory.EmbedderSettings settings)
    {
        VertexAIOptions options = VertexAIOptions.FromEnvironment();
        if (settings.GoogleProject is { Length: > 0 } project)
        {
            options.Project = project;
        }

        if (settings.GoogleLocation is { Length: > 0 } location)
        {
            options.Location = location;
        }

        if (settings.GoogleEndpoint is { Length: > 0 } endpoint)
        {
            options.Endpoint = new Uri(endpoint);
        }

        if (settings.Dimensions is int dimensions)
        {
            options.Dimensions = dimensions;
        }

        if (string.IsNullOrEmpty(options.Project))
        {
            throw new InvalidInputException("The google provider needs a project: --google-project <id> or GOOGLE_CLOUD_PROJECT.");
        }

        return new VertexAIEmbeddingGenerator(options);
    }

    public static IMultimodalEmbeddingGenerator CreateAzure(EmbedderFactory.EmbedderSettings settings)
    {
        AzureVisionOptions options = AzureVisionOptions.FromEnvironment();
        if (settings.AzureEndpoint is { Length: > 0 } endpoint)
        {
            options.Endpoint = new Uri(endpoint);
        }

        if (settings.AzureModelVersion is { Length: > 0 } version)
        {
            options.ModelVersion = version;
        }

        if (options.Endpoint is null)
        {
            throw new InvalidInputException("The azure provider needs an endpoint: --azure-endpoint <URL> or AZURE_VISION_ENDPOINT.");
        }

        return new AzureVisionEmbeddingGenerator(options);
    }
}
