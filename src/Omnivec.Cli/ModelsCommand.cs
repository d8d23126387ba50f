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
        var command = new Command("list", "Models in the cache, and known-good models to try.");
        command.Options.Add(json);
        command.SetAction((parse, cancellationToken) =>
        {
            using var hub = new HubClient(HubOptions.FromEnvironment());
            IReadOnlyList<CachedModelInfo> cached = hub.ListCached();
            if (parse.GetValue(json))
            {
                Output.WriteJsonLine(writer =>
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
                return Task.FromResult(0);
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

            var known = new Table().Border(TableBorder.Simple).Title("known good").AddColumn("repo").AddColumn("layout").AddColumn(new TableColumn("dims").RightAligned()).AddColumn("note");
            foreach (KnownModel model in HubDefaults.KnownModels)
            {
                known.AddRow(Markup.Escape(model.RepoId + (model.RepoId == HubDefaults.DefaultModel ? " (default)" : "")), model.Layout.ToString(),
                    model.Dimensions.ToString(CultureInfo.InvariantCulture), Markup.Escape(model.Note));
            }

            AnsiConsole.Write(known);
            return Task.FromResult(0);
        });
        return command;
    }

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
