using System.CommandLine;
using System.Globalization;
using Omnivec.Hub;
using Omnivec.Models;
using Spectre.Console;

namespace Omnivec.Cli;

/// <summary><c>omnivec models pull|list|rm</c>: the Hugging Face Hub cache, shared with Python tools.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "Download, list and remove models in the Hugging Face Hub cache.");
        command.Subcommands.Add(CreatePull());
        command.Subcommands.Add(CreateList());
        command.Subcommands.Add(CreateRemove());
        return command;
    }

    private static Command CreatePull()
    {
        var repo = new Argument<string>("repo") { Description = "Hub repo id, org/name[@revision]." };
        var variant = new Option<string>("--variant") { Description = "fp32 (default), fp16 or quantized.", DefaultValueFactory = _ => "fp32" };
        variant.Validators.Add(ModelOptions.ValidateVariant);
        var command = new Command("pull", "Download a model (only the files its layout and variant need) into the Hub cache.");
        command.Arguments.Add(repo);
        command.Options.Add(variant);
        command.SetAction(async (parse, cancellationToken) =>
        {
            ModelReference model = ModelReference.Parse(parse.GetValue(repo)!);
            ModelVariant v = ClipModelLayout.ParseVariant(parse.GetValue(variant) ?? "fp32");
            using var hub = new HubClient(HubOptions.FromEnvironment());
            ModelSnapshot snapshot = await ModelResolver.PullAsync(hub, model, v, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"{model} @ {snapshot.Commit} ({snapshot.Files.Kind}, {ClipModelLayout.VariantName(v)}){(snapshot.FromCache ? " already cached" : "")}: {snapshot.Directory}");
            return 0;
        });
        return command;
    }

    private static Command CreateList()
    {
        var json = new Option<bool>("--json") { Description = "Print as JSON." };
        var available = new Option<bool>("--available")
        {
            Description = "The curated table of models to try: family, dimensions, languages, download size (asked of the Hub), speed measured here, quality.",
        };
        var command = new Command("list", "Models in the cache; with --available, the models Omnivec knows to load.");
        command.Options.Add(json);
        command.Options.Add(available);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var hub = new HubClient(HubOptions.FromEnvironment());
            IReadOnlyList<CachedModelInfo> cached = hub.ListCached();
            if (parse.GetValue(available))
            {
                IReadOnlyList<(KnownModel Model, long? Size, string? Why)> rows = await SizesAsync(hub, cancellationToken).ConfigureAwait(false);
                PrintAvailable(rows, cached, parse.GetValue(json));
                return 0;
            }

            if (parse.GetValue(json))
            {
                PrintInstalledJson(cached);
                return 0;
            }

            Console.WriteLine($"Cache: {hub.CacheDirectory}");
            var installed = new Table().Border(TableBorder.Simple).Title("installed")
                .AddColumn("repo").AddColumn("revision").AddColumn("layout").AddColumn("variants").AddColumn(new TableColumn("dims").RightAligned()).AddColumn(new TableColumn("size").RightAligned());
            foreach (CachedModelInfo info in cached)
            {
                foreach (CachedRevision revision in info.Revisions)
                {
                    installed.AddRow(Markup.Escape(info.RepoId),
                        Markup.Escape(revision.Commit[..Math.Min(12, revision.Commit.Length)] + (revision.Refs.Count > 0 ? $" ({string.Join(", ", revision.Refs)})" : "")),
                        revision.Layout?.ToString() ?? "not CLIP", string.Join(", ", revision.Variants.Select(ClipModelLayout.VariantName)),
                        HubDefaults.Find(info.RepoId)?.Dimensions.ToString(CultureInfo.InvariantCulture) ?? "", Output.FormatBytes(info.SizeOnDisk));
                }
            }

            if (cached.Count == 0)
            {
                Console.WriteLine("No models installed yet.");
            }
            else
            {
                AnsiConsole.Write(installed);
            }

            Console.WriteLine($"Models to try: omnivec models list --available (the default is {HubDefaults.DefaultModel}).");
            return 0;
        });
        return command;
    }

    /// <summary>Asks the Hub, all at once, how large each curated model's fp32 download is; offline or failing rows say why.</summary>
    private static async Task<IReadOnlyList<(KnownModel Model, long? Size, string? Why)>> SizesAsync(HubClient hub, CancellationToken cancellationToken)
    {
        if (hub.Options.Offline)
        {
            return [.. HubDefaults.KnownModels.Select(m => (m, (long?)null, (string?)"offline"))];
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        Task<(KnownModel, long?, string?)>[] lookups = [.. HubDefaults.KnownModels.Select(async model =>
        {
            try
            {
                long? size = await hub.GetDownloadSizeAsync(ModelReference.Parse(model.RepoId), ModelVariant.Fp32, timeout.Token).ConfigureAwait(false);
                return (model, size, size is null ? "the Hub gave no size" : null);
            }
            catch (HubException e)
            {
                return (model, (long?)null, (string?)e.Kind.ToString());
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return (model, (long?)null, (string?)"no answer in 20 s");
            }
        })];
        return await Task.WhenAll(lookups).ConfigureAwait(false);
    }

    private static void PrintAvailable(IReadOnlyList<(KnownModel Model, long? Size, string? Why)> rows, IReadOnlyList<CachedModelInfo> cached, bool asJson)
    {
        if (asJson)
        {
            Output.WriteJsonLine(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("default", HubDefaults.DefaultModel);
                writer.WriteStartArray("available");
                foreach ((KnownModel model, long? size, string? why) in rows)
                {
                    writer.WriteStartObject();
                    writer.WriteString("repo", model.RepoId);
                    writer.WriteString("family", ModelFamilyDetector.Name(model.Family));
                    writer.WriteString("layout", model.Layout.ToString());
                    writer.WriteString("media", model.Media);
                    writer.WriteNumber("dimensions", model.Dimensions);
                    writer.WriteString("languages", model.Languages);
                    if (size is long bytes)
                    {
                        writer.WriteNumber("download_bytes", bytes);
                    }
                    else
                    {
                        writer.WriteNull("download_bytes");
                        writer.WriteString("download_bytes_unknown", why);
                    }

                    if (model.ImagesPerSecond is double rate)
                    {
                        writer.WriteNumber("images_per_second_measured", rate);
                    }

                    writer.WriteString("quality", model.Quality);
                    writer.WriteString("note", model.Note);
                    writer.WriteBoolean("installed", cached.Any(c => string.Equals(c.RepoId, model.RepoId, StringComparison.OrdinalIgnoreCase)));
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            });
            return;
        }

        // One block per model (a wide table wraps into noise on an 80-column terminal): the facts on one line, the words below.
        foreach ((KnownModel model, long? size, string? why) in rows)
        {
            bool installed = cached.Any(c => string.Equals(c.RepoId, model.RepoId, StringComparison.OrdinalIgnoreCase));
            var facts = new List<string>
            {
                ModelFamilyDetector.Name(model.Family) + (model.Media == "image" ? "" : $" ({model.Media})"),
                model.Dimensions.ToString(CultureInfo.InvariantCulture) + "-d",
                model.Languages,
                size is long bytes ? Output.FormatBytes(bytes) + " download" : $"size ? ({why})",
            };
            if (model.ImagesPerSecond is double rate)
            {
                facts.Add(rate.ToString("0.#", CultureInfo.InvariantCulture) + " img/s here");
            }

            Console.WriteLine($"{model.RepoId}{(model.RepoId == HubDefaults.DefaultModel ? " (default)" : "")}{(installed ? " (installed)" : "")}  {string.Join(" · ", facts)}");
            Console.WriteLine("    " + model.Note);
            if (model.Quality is { } quality)
            {
                Console.WriteLine("    quality: " + quality);
            }
        }

        Console.WriteLine();
        Console.WriteLine("Download sizes are the fp32 files a pull fetches; img/s is the image tower alone at batch 32 on the 2-core bench machine (docs/benchmarks.md).");
        Console.WriteLine("Use one: omnivec index <folder> --model <repo>   (a collection keeps the model it was made with).");
    }

    private static void PrintInstalledJson(IReadOnlyList<CachedModelInfo> cached) => Output.WriteJsonLine(writer =>
    {
        writer.WriteStartObject();
        writer.WriteStartArray("installed");
        foreach (CachedModelInfo info in cached)
        {
            writer.WriteStartObject();
            writer.WriteString("repo", info.RepoId);
            writer.WriteString("layout", info.Layout?.ToString());
            writer.WriteNumber("size_bytes", info.SizeOnDisk);
            writer.WriteString("directory", info.Directory);
            writer.WriteStartArray("revisions");
            foreach (CachedRevision revision in info.Revisions)
            {
                writer.WriteStartObject();
                writer.WriteString("commit", revision.Commit);
                writer.WriteStartArray("refs");
                foreach (string r in revision.Refs)
                {
                    writer.WriteStringValue(r);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("variants");
                foreach (ModelVariant v in revision.Variants)
                {
                    writer.WriteStringValue(ClipModelLayout.VariantName(v));
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteNumber("dimensions", HubDefaults.Find(info.RepoId)?.Dimensions ?? 0);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("known_good");
        foreach (KnownModel known in HubDefaults.KnownModels)
        {
            writer.WriteStartObject();
            writer.WriteString("repo", known.RepoId);
            writer.WriteString("layout", known.Layout.ToString());
            writer.WriteNumber("dimensions", known.Dimensions);
            writer.WriteString("note", known.Note);
            writer.WriteBoolean("installed", cached.Any(c => c.RepoId == known.RepoId));
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    });

    private static Command CreateRemove()
    {
        var repo = new Argument<string>("repo") { Description = "Hub repo id, org/name." };
        var command = new Command("rm", "Remove a model (every revision) from the cache.");
        command.Arguments.Add(repo);
        command.SetAction((parse, cancellationToken) =>
        {
            string id = parse.GetValue(repo)!;
            using var hub = new HubClient(HubOptions.FromEnvironment());
            if (!hub.Remove(ModelReference.Parse(id).RepoId))
            {
                Output.Error($"{id} is not in the cache ({hub.CacheDirectory})");
                return Task.FromResult(1);
            }

            Console.WriteLine($"Removed {id}.");
            return Task.FromResult(0);
        });
        return command;
    }
}
