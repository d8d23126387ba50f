using System.CommandLine;
using System.Globalization;
using Omnivec.Index;
using Omnivec.Index.Postgres;
using Spectre.Console;

namespace Omnivec.Cli;

/// <summary><c>omnivec dedupe</c> and <c>omnivec collections</c>.</summary>
internal static class CollectionCommands
{
    public static Command CreateDedupe()
    {
        var collection = new CollectionOptions();
        var filters = new FilterOptions();
        var threshold = new Option<float>("--threshold") { Description = "Cosine similarity at or above which two images count as near-duplicates.", DefaultValueFactory = _ => 0.95f };
        var json = new Option<bool>("--json") { Description = "One JSON object per group per line." };
        var command = new Command("dedupe", "List groups of near-duplicate images, best-quality member first.");
        collection.AddTo(command);
        filters.AddTo(command);
        command.Options.Add(threshold);
        command.Options.Add(json);
        command.SetAction((parse, cancellationToken) =>
        {
            float t = parse.GetValue(threshold);
            if (t is <= 0f or > 1f)
            {
                Output.Error("--threshold must be in (0, 1]");
                return Task.FromResult(2);
            }

            IVectorStore store = collection.OpenStore(parse);
            using IVectorCollection target = store.Open(collection.Name(parse));
            IReadOnlyList<DuplicateGroup> groups = target.FindDuplicates(t, filters.Build(parse), cancellationToken);
            bool asJson = parse.GetValue(json);
            int n = 1;
            foreach (DuplicateGroup group in groups)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (asJson)
                {
                    Output.WriteJsonLine(writer =>
                    {
                        writer.WriteStartObject();
                        writer.WriteNumber("group", n);
                        writer.WriteStartArray("members");
                        int rank = 1;
                        foreach (SearchHit member in group.Members)
                        {
                            SearchCommands.WriteHit(writer, member, rank++);
                        }

                        writer.WriteEndArray();
                        writer.WriteEndObject();
                    });
                }
                else
                {
                    Console.WriteLine($"group {n} ({group.Members.Count} images)");
                    foreach (SearchHit member in group.Members)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"  {member.Score:F4}  {member.Item.Width}x{member.Item.Height}  {member.Item.SizeBytes,10:N0} B  {member.Item.Path}"));
                    }
                }

                n++;
            }

            if (!asJson)
            {
                Console.WriteLine(groups.Count == 0 ? "No near-duplicates found." : $"{groups.Count} group(s).");
            }

            return Task.FromResult(0);
        });
        return command;
    }

    public static Command CreateList()
    {
        var collection = new CollectionOptions();
        var json = new Option<bool>("--json") { Description = "Print as JSON." };
        var command = new Command("collections", "List collections with their item counts, models and sizes on disk.");
        command.Options.Add(collection.Store);
        command.Options.Add(json);
        command.Subcommands.Add(CreateCopy());
        command.SetAction((parse, cancellationToken) =>
        {
            IVectorStore store = collection.OpenStore(parse);
            IReadOnlyList<CollectionInfo> all = store.List();
            if (parse.GetValue(json))
            {
                Output.WriteJsonLine(writer =>
                {
                    writer.WriteStartArray();
                    foreach (CollectionInfo info in all)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("name", info.Name);
                        writer.WriteNumber("count", info.Count);
                        writer.WriteString("provider", info.Space.Provider);
                        writer.WriteString("model", info.Space.ModelId);
                        writer.WriteString("revision", info.Space.Revision);
                        writer.WriteNumber("dimensions", info.Space.Dimensions);
                        writer.WriteNumber("bytes_on_disk", info.BytesOnDisk);
                        writer.WriteString("updated_utc", info.UpdatedUtc);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                });
                return Task.FromResult(0);
            }

            if (all.Count == 0)
            {
                Console.WriteLine("No collections yet. Create one with: omnivec index <folder>");
                return Task.FromResult(0);
            }

            if (Console.IsOutputRedirected)
            {
                foreach (CollectionInfo info in all)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{info.Name}\t{info.Count}\t{info.Space}\t{Output.FormatBytes(info.BytesOnDisk)}\t{info.UpdatedUtc:yyyy-MM-dd HH:mm}"));
                }

                return Task.FromResult(0);
            }

            var table = new Table().Border(TableBorder.Simple).AddColumn("name").AddColumn(new TableColumn("items").RightAligned())
                .AddColumn("model").AddColumn(new TableColumn("dims").RightAligned()).AddColumn(new TableColumn("on disk").RightAligned()).AddColumn("updated");
            foreach (CollectionInfo info in all)
            {
                table.AddRow(Markup.Escape(info.Name), info.Count.ToString("N0", CultureInfo.InvariantCulture), Markup.Escape(info.Space.ToString()),
                    info.Space.Dimensions.ToString(CultureInfo.InvariantCulture), Output.FormatBytes(info.BytesOnDisk),
                    info.UpdatedUtc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command CreateCopy()
    {
        var name = new Argument<string>("name") { Description = "Collection to copy." };
        var from = new Option<string?>("--from") { Description = "Source store: a folder or a postgresql:// URI." };
        var to = new Option<string?>("--to") { Description = "Target store: a folder or a postgresql:// URI." };
        var command = new Command("copy", "Copy a collection between stores (folder <-> PostgreSQL) with its vectors: no re-embedding, resumable, verified by count and checksum.");
        command.Arguments.Add(name);
        command.Options.Add(from);
        command.Options.Add(to);
        command.SetAction((parse, cancellationToken) =>
        {
            if (parse.GetValue(from) is not { Length: > 0 } source || parse.GetValue(to) is not { Length: > 0 } target)
            {
                Output.Error("collections copy needs --from <store> and --to <store> (a folder or a postgresql:// URI)");
                return Task.FromResult(2);
            }

            string collectionName = parse.GetValue(name)!;
            IVectorStore fromStore = StoreLocation.Open(source);
            IVectorStore toStore = StoreLocation.Open(target);
            try
            {
                var progress = new Progress<long>(n => Console.Error.Write($"\rcopied {n:N0} items"));
                CollectionCopyReport report = CollectionCopy.Run(fromStore, toStore, collectionName, 1000, Console.IsErrorRedirected ? null : progress, cancellationToken);
                using (IVectorCollection copiedFrom = fromStore.Open(collectionName))
                using (IVectorCollection copiedTo = toStore.Open(collectionName))
                {
                    EmbedderFactory.CopyRemembered(copiedFrom, copiedTo); // the copy is searched with the same model, no flags
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Copied {report.Copied} items: '{collectionName}' in {StoreLocation.Describe(target)} holds {report.Count} items, checksum {report.Checksum}, the same as the source."));
                return Task.FromResult(0);
            }
            finally
            {
                (fromStore as IDisposable)?.Dispose();
                (toStore as IDisposable)?.Dispose();
            }
        });
        return command;
    }
}
