using System.Diagnostics;
using System.Globalization;
using Omnivec.Hub;
using Omnivec.Models;
using Omnivec.Onnx;
using Spectre.Console;

namespace Omnivec.Cli;

/// <summary>Turns a --model value (folder or Hub repo id) into a model folder, downloading it on first use.</summary>
internal static class ModelResolver
{
    /// <summary>Loads the model: a CLAP pack (audio and text) when the folder holds one, else CLIP/SigLIP/M-CLIP (images and text).</summary>
    /// <param name="model">A folder or a Hub repo id.</param>
    /// <param name="variant">Which precision of the weights.</param>
    /// <param name="cancellationToken">Stops a download.</param>
    /// <param name="maxDuration">A longer limit for the audio reader than its default (4 hours or OMNIVEC_MAX_DURATION); never shortens it.</param>
    public static async Task<IMultimodalEmbeddingGenerator> LoadAsync(string model, ModelVariant variant, CancellationToken cancellationToken, TimeSpan? maxDuration = null)
    {
        string directory = await ResolveDirectoryAsync(model, variant, cancellationToken).ConfigureAwait(false);
        // ONNX Runtime's optimized form of each model is kept per user, so every start after the first skips graph
        // optimization and weight prepacking (OMNIVEC_ONNX_CACHE=off turns it off).
        string? cache = OnnxModelOptions.DefaultOptimizedModelCacheDirectory;
        if (ClapEmbeddingGenerator.IsClapPack(directory, variant))
        {
            var clap = new ClapModelOptions { Variant = variant, OptimizedModelCacheDirectory = cache };
            if (maxDuration is { } longest && longest > clap.Ffmpeg.MaxDuration)
            {
                clap.Ffmpeg.MaxDuration = longest;
            }

            return ClapEmbeddingGenerator.Load(directory, clap);
        }

        // Weights are prepacked as in `serve` and `mcp` (OnnxModelOptions.PrepackWeights false would load a search's text
        // tower faster, but its GEMM sums in another order and the scores then differ from theirs in the 7th digit).
        return ClipEmbeddingGenerator.Load(directory, new ClipModelOptions { Variant = variant, OptimizedModelCacheDirectory = cache });
    }

    /// <summary>A local folder as it is; a Hub repo id from the cache (no network), pulled first when missing.</summary>
    public static async Task<string> ResolveDirectoryAsync(string model, ModelVariant variant, CancellationToken cancellationToken)
    {
        ModelSource source = ModelSource.Resolve(model);
        if (source.IsLocal)
        {
            return source.LocalDirectory!;
        }

        using var hub = new HubClient(HubOptions.FromEnvironment());
        ModelSnapshot snapshot = await PullAsync(hub, source.Repository!, variant, cancellationToken).ConfigureAwait(false);
        return snapshot.Directory;
    }

    public static async Task<ModelSnapshot> PullAsync(HubClient hub, ModelReference model, ModelVariant variant, CancellationToken cancellationToken)
    {
        if (hub.TryGetCached(model, variant) is { } cached)
        {
            return cached;
        }

        Console.Error.WriteLine($"Downloading {model} ({ClipModelLayout.VariantName(variant)}) from {hub.Options.Endpoint} into {hub.CacheDirectory}");
        if (Console.IsErrorRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            var clock = Stopwatch.StartNew();
            TimeSpan? last = null;
            string? lastFile = null;
            var plain = new InlineProgress<DownloadProgress>(p =>
            {
                bool fileChanged = p.File != lastFile;
                if (!fileChanged && last is not null && clock.Elapsed - last.Value < TimeSpan.FromSeconds(2))
                {
                    return;
                }

                last = clock.Elapsed;
                lastFile = p.File;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {p.File}: {Output.FormatBytes(p.BytesDownloaded)} of {Output.FormatBytes(p.TotalBytes)}, {Output.FormatBytes((long)p.BytesPerSecond)}/s, ETA {Output.FormatEta(p.EstimatedRemaining)} (file {p.FilesCompleted + 1} of {p.FileCount})"));
            });
            return await hub.PullAsync(model, variant, plain, cancellationToken).ConfigureAwait(false);
        }

        ModelSnapshot? snapshot = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var progress = new InlineProgress<DownloadProgress>(p =>
                {
                    if (!tasks.TryGetValue(p.File, out ProgressTask? task))
                    {
                        task = context.AddTask(Markup.Escape(p.File), maxValue: Math.Max(1, p.TotalBytes ?? 1));
                        tasks[p.File] = task;
                    }

                    if (p.TotalBytes is long total)
                    {
                        task.MaxValue = Math.Max(1, total);
                    }

                    task.Value = p.BytesDownloaded;
                });
                snapshot = await hub.PullAsync(model, variant, progress, cancellationToken).ConfigureAwait(false);
                foreach (ProgressTask task in tasks.Values)
                {
                    task.Value = task.MaxValue;
                }
            }).ConfigureAwait(false);
        return snapshot!;
    }


}

/// <summary>Reports on the caller's thread, in order.</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
