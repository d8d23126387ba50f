namespace Omnivec.Cli;

/// <summary>Cloud providers from command-line settings and the environment (secrets come only from the environment or credential chains).</summary>
internal static class ProviderFactory
{
    public static IMultimodalEmbeddingGenerator CreateGoogle(EmbedderFactory.EmbedderSettings settings) =>
        throw new InvalidInputException("The google provider is not available in this build.");

    public static IMultimodalEmbeddingGenerator CreateAzure(EmbedderFactory.EmbedderSettings settings) =>
        throw new InvalidInputException("The azure provider is not available in this build.");
}
