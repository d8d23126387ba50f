using Omnivec.Models;

namespace Omnivec.Onnx;

/// <summary>
/// What loading any local ONNX model pack takes: where it is, which files, the identity it records, normalisation,
/// threads and batch size. <see cref="ClipModelOptions"/> (image-text) and <see cref="ClapModelOptions"/> (audio-text)
/// add what their kind of model needs.
/// </summary>
public abstract class OnnxModelOptions
{
    private protected OnnxModelOptions(int maxBatchSize) => MaxBatchSize = maxBatchSize;

    /// <summary>Model folder. Required when registering through DI.</summary>
    public string? ModelDirectory { get; set; }

    /// <summary>Which ONNX files to load where the folder has several (fp32, fp16, quantized).</summary>
    public ModelVariant Variant { get; set; } = ModelVariant.Fp32;

    /// <summary>Identity recorded in <see cref="EmbeddingSpace"/>: the Hub repo id, or the folder name when null.</summary>
    public string? ModelId { get; set; }

    /// <summary>Revision (commit) of the weights, recorded in <see cref="EmbeddingSpace"/>; a hash of the ONNX files when null.</summary>
    public string? Revision { get; set; }

    /// <summary>L2-normalise every vector (the default; similarity in these models is cosine).</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>Threads ONNX Runtime uses inside one model run; 0 means one per core.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Whether ONNX Runtime repacks the weights of the matrix products into its kernels' layout when a tower loads (the
    /// default): every run after that is faster, for a slower load. Off suits a process that runs a tower once or twice
    /// and exits, such as one command-line search: the load skips the repacking (about two thirds of a cached load) and
    /// each run packs what it multiplies instead. The vectors are the same either way.
    /// </summary>
    public bool PrepackWeights { get; set; } = true;

    /// <summary>Largest batch sent to the model in one run (models with a fixed batch size override this).</summary>
    public int MaxBatchSize { get; set; }

    /// <summary>
    /// Folder where ONNX Runtime's optimized form of each model file is kept (graph optimized, weights prepacked for this
    /// CPU and memory-mapped on load), so that later loads start several times faster; null (the default) for none.
    /// The first load of a model writes its entry (about 1.6 times the model file's size). A folder that cannot be
    /// written, or a damaged entry, only means loading from the model file as without a cache.
    /// <see cref="DefaultOptimizedModelCacheDirectory"/> is where the omnivec command keeps it.
    /// </summary>
    public string? OptimizedModelCacheDirectory { get; set; }

    /// <summary>
    /// The per-user folder for <see cref="OptimizedModelCacheDirectory"/>: <c>$OMNIVEC_ONNX_CACHE</c> when set (<c>off</c>
    /// for none), else <c>$OMNIVEC_HOME/cache/onnx</c>, else <c>$XDG_CACHE_HOME/omnivec/onnx</c>, else
    /// <c>~/.cache/omnivec/onnx</c> (the local application data folder where there is no home folder). Null when turned off.
    /// </summary>
    public static string? DefaultOptimizedModelCacheDirectory => DefaultCacheDirectory(Environment.GetEnvironmentVariable);

    internal static string? DefaultCacheDirectory(Func<string, string?> env)
    {
        string? explicitPath = env("OMNIVEC_ONNX_CACHE");
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return explicitPath.Trim().ToLowerInvariant() is "off" or "0" or "false" or "none" ? null : explicitPath;
        }

        if (env("OMNIVEC_HOME") is { Length: > 0 } home)
        {
            return Path.Combine(home, "cache", "onnx");
        }

        if (env("XDG_CACHE_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "omnivec", "onnx");
        }

        string user = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return user.Length > 0
            ? Path.Combine(user, ".cache", "omnivec", "onnx")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "omnivec", "onnx-cache");
    }
}
