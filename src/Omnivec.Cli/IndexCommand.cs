using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Omnivec.Index;
using Omnivec.Indexing;
using Spectre.Console;

namespace Omnivec.Cli;

/// <summary><c>omnivec index &lt;folder&gt;</c>: embed every image in a folder into a collection, incrementally.</summary>
internal static class IndexCommand
{
    public static Command Create()
    {
        var embedder = new EmbedderOptions();
        var collection = new CollectionOptions();
        var folder = new Argument<string>("folder") { Description = "Folder to index (recursively)." };
        var batch = new Option<int>("--batch-size") { Description = "Files embedded and committed together.", DefaultValueFactory = _ => 16 };
        var noRecurse = new Option<bool>("--no-recurse") { Description = "Only the folder itself, not its sub-folders." };
        var noVideos = new Option<bool>("--no-videos") { Description = "Index images only, not videos." };
        var maxDuration = new Option<double?>("--max-duration") { Description = "Skip videos and recordings longer than this many seconds; a value above the reader's limit (4 hours, OMNIVEC_MAX_DURATION) raises that limit for this run." };
        var video = new VideoOptions();
        var command = new Command("index", "Index the images and videos in a folder (videos as segments; needs FFmpeg). Re-running it only embeds new and changed files, and removes deleted ones.");
        command.Arguments.Add(folder);
        embedder.AddTo(command);
        collection.AddTo(command);
        command.Options.Add(batch);
        command.Options.Add(noRecurse);
        command.Options.Add(noVideos);
        command.Options.Add(maxDuration);
        video.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            string root = Path.GetFullPath(parse.GetValue(folder)!);
            if (!Directory.Exists(root))
            {
                Output.Error($"folder not found: {root}");
                return 2;
            }

            Omnivec.Media.VideoSegmenterOptions segmenting;
            try
            {
                segmenting = video.Build(parse);
            }
            catch (ArgumentException ex)
            {
                Output.Error(ex.Message);
                return 2;
            }

            IVectorStore store = collection.OpenStore(parse);
            string name = collection.Name(parse);
            IVectorCollection? existing = store.List().Any(c => c.Name == name) ? store.Open(name) : null;
            embedder.MaxMediaDuration = parse.GetValue(maxDuration) is double longestSec and > 0 and < 1e9 ? TimeSpan.FromSeconds(longestSec) : null;
            using IMultimodalEmbeddingGenerator generator = await EmbedderFactory.CreateAsync(parse, embedder, existing, cancellationToken).ConfigureAwait(false);
            existing?.Dispose();
            using IVectorCollection target = store.OpenOrCreate(name, generator.Space);
            EmbedderFactory.Remember(target, parse, embedder);

            var indexer = new FolderIndexer(generator, target);
            var options = new FolderIndexOptions
            {
                BatchSize = Math.Max(1, parse.GetValue(batch)),
                Recursive = !parse.GetValue(noRecurse),
                IndexVideos = !parse.GetValue(noVideos),
                Video = segmenting,
                MaxVideoDurationSec = parse.GetValue(maxDuration),
            };
            // Asking for files up to N seconds is asking the reader to accept them: a --max-duration above the reader's
            // limit raises it (never lowers it: a shorter one only skips, with its own message).
            if (embedder.MaxMediaDuration is { } longest && longest > options.Ffmpeg.MaxDuration)
            {
                options.Ffmpeg.MaxDuration = longest;
            }
            Console.Error.WriteLine($"Indexing {root} into collection '{name}' ({generator.Space})");
            FolderIndexReport report = await RunWithProgressAsync(indexer, root, options, cancellationToken).ConfigureAwait(false);

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(report.Cancelled ? "Stopped" : "Done")}: {report.FilesSeen} files, {report.Added} added, {report.Updated} updated, {report.Unchanged} unchanged, {report.Removed} removed, {report.Failures.Count} failed in {report.Elapsed.TotalSeconds:F1} s. Collection '{name}' holds {target.Count} items."));
            foreach (string note in report.Notes)
            {
                Output.Warn(note);
            }

            if (report.Failures.Count > 0)
            {
                Console.Error.WriteLine($"{report.Failures.Count} file(s) could not be indexed:");
                foreach (IndexFailure failure in report.Failures)
                {
                    Console.Error.WriteLine($"  {failure.Path}: {failure.Reason}");
                }
            }

            if (report.Cancelled)
            {
                Console.Error.WriteLine("Interrupted: everything committed so far is kept; run the same command again to continue.");
                return 130;
            }

            return 0;
        });
        return command;
    }

    private static async Task<FolderIndexReport> RunWithProgressAsync(FolderIndexer indexer, string root, FolderIndexOptions options, CancellationToken cancellationToken)
    {
        if (Console.IsErrorRedirected || Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            // Plain log lines for logs and pipes, at most one every two seconds.
            var clock = Stopwatch.StartNew();
            TimeSpan? last = null;
            var plain = new InlineProgress<FolderIndexProgress>(p =>
            {
                if (last is not null && clock.Elapsed - last.Value < TimeSpan.FromSeconds(2) && p.FilesDone < p.FilesTotal)
                {
                    return;
                }

                last = clock.Elapsed;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"indexed {p.FilesDone}/{p.FilesTotal} new or changed files ({p.Unchanged} unchanged, {p.Failed} failed), {p.FilesPerSecond:F1} files/s, ETA {Output.FormatEta(p.Eta)}"));
            });
            return await indexer.IndexAsync(root, options, plain, cancellationToken).ConfigureAwait(false);
        }

        FolderIndexReport? report = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                ProgressTask task = context.AddTask("scanning", maxValue: 1);
                var progress = new InlineProgress<FolderIndexProgress>(p =>
                {
                    task.MaxValue = Math.Max(1, p.FilesTotal);
                    task.Value = p.FilesDone;
                    task.Description = string.Create(CultureInfo.InvariantCulture, $"{p.FilesDone}/{p.FilesTotal} files · {p.FilesPerSecond:F1}/s · {p.Failed} failed");
                });
                report = await indexer.IndexAsync(root, options, progress, cancellationToken).ConfigureAwait(false);
                task.Value = task.MaxValue;
            }).ConfigureAwait(false);
        return report!;
    }
}
