using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Omnivec.Index;
using Omnivec.Indexing;
using Spectre.Console;

namespace Omnivec.Cli;

/// <summary><c>omnivec search</c> (by text or image) and <c>omnivec similar</c> (by an indexed item).</summary>
internal static class SearchCommands
{
    public static Command CreateSearch()
    {
        var embedder = new EmbedderOptions();
        var collection = new CollectionOptions();
        var filters = new FilterOptions();
        var query = new Argument<string?>("query") { Description = "What to look for, in words.", Arity = ArgumentArity.ZeroOrOne };
        var image = new Option<string?>("--image") { Description = "Search by this image instead of words." };
        var results = new ResultOptions();
        var command = new Command("search", "Find items by describing them, or by showing an image (--image).");
        command.Arguments.Add(query);
        command.Options.Add(image);
        embedder.AddTo(command);
        collection.AddTo(command);
        filters.AddTo(command);
        results.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            string? text = parse.GetValue(query);
            string? imagePath = parse.GetValue(image);
            if (string.IsNullOrWhiteSpace(text) == (imagePath is null))
            {
                Output.Error("give either a text query or --image <file>");
                return 2;
            }

            IVectorStore store = collection.OpenStore(parse);
            using IVectorCollection target = store.Open(collection.Name(parse));
            results.ApplyTo(parse, target);
            using IMultimodalEmbeddingGenerator generator = await EmbedderFactory.CreateAsync(parse, embedder, target, cancellationToken).ConfigureAwait(false);
            var search = new CollectionSearch(generator, target);
            SearchMode mode = results.Mode(parse);
            int top = parse.GetValue(results.Top);
            IReadOnlyList<SearchHit> hits;
            if (imagePath is not null)
            {
                if (!File.Exists(imagePath))
                {
                    Output.Error($"file not found: {imagePath}");
                    return 2;
                }

                byte[] bytes = await File.ReadAllBytesAsync(imagePath, cancellationToken).ConfigureAwait(false);
                hits = await search.SearchImageAsync(new DataContent(bytes, "application/octet-stream") { Name = imagePath }, top, filters.Build(parse), mode, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                hits = await search.SearchTextAsync(text!, top, filters.Build(parse), mode, cancellationToken).ConfigureAwait(false);
            }

            Print(hits, parse.GetValue(results.Json), imagePath ?? text!);
            return 0;
        });
        return command;
    }

    public static Command CreateSimilar()
    {
        var collection = new CollectionOptions();
        var filters = new FilterOptions();
        var path = new Argument<string>("path") { Description = "An indexed file." };
        var results = new ResultOptions();
        var command = new Command("similar", "Find the items most like one already indexed (no model needed).");
        command.Arguments.Add(path);
        collection.AddTo(command);
        filters.AddTo(command);
        results.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            IVectorStore store = collection.OpenStore(parse);
            using IVectorCollection target = store.Open(collection.Name(parse));
            results.ApplyTo(parse, target);
            string full = Path.GetFullPath(parse.GetValue(path)!);
            CollectionItem? item = target.FindByPath(full);
            if (item is null)
            {
                Output.Error($"{full} is not in collection '{target.Name}'; index it first");
                return Task.FromResult(2);
            }

            SearchMode mode = results.Mode(parse);
            int k = parse.GetValue(results.Top);
            float[] vector = target.GetVector(item.Id) ?? throw new InvalidInputException($"{full} was removed from collection '{target.Name}' meanwhile");
            IReadOnlyList<SearchHit> hits = target.Search(vector, k + 1, filters.Build(parse), mode).Where(h => h.Item.Id != item.Id).Take(k).ToArray();
            Print(hits, parse.GetValue(results.Json), full);
            return Task.FromResult(0);
        });
        return command;
    }

    internal static void Print(IReadOnlyList<SearchHit> hits, bool asJson, string query)
    {
        if (asJson)
        {
            Output.WriteJsonLine(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("query", query);
                writer.WriteStartArray("results");
                int rank = 1;
                foreach (SearchHit hit in hits)
                {
                    WriteHit(writer, hit, rank++);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            });
            return;
        }

        if (hits.Count == 0)
        {
            Console.WriteLine("No results.");
            return;
        }

        if (Console.IsOutputRedirected)
        {
            // Pipes and files get one tab-separated line per hit, easy to cut and grep.
            int rank = 1;
            foreach (SearchHit hit in hits)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{rank++}\t{hit.Score:F4}\t{hit.Item.Path}\t{hit.Item.Width}x{hit.Item.Height}\t{(hit.Item.TakenAt ?? hit.Item.ModifiedUtc):yyyy-MM-dd}"));
            }

            return;
        }

        var table = new Table().Border(TableBorder.Simple)
            .AddColumn(new TableColumn("#").RightAligned())
            .AddColumn(new TableColumn("score").RightAligned())
            .AddColumn("path")
            .AddColumn(new TableColumn("size").RightAligned())
            .AddColumn("taken");
        int i = 1;
        foreach (SearchHit hit in hits)
        {
            table.AddRow(
                (i++).ToString(CultureInfo.InvariantCulture),
                hit.Score.ToString("F4", CultureInfo.InvariantCulture),
                Markup.Escape(hit.Item.Path),
                hit.Item.Width > 0 ? $"{hit.Item.Width}x{hit.Item.Height}" : "",
                (hit.Item.TakenAt ?? hit.Item.ModifiedUtc).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(table);
    }

    internal static void WriteHit(Utf8JsonWriter writer, SearchHit hit, int rank)
    {
        writer.WriteStartObject();
        writer.WriteNumber("rank", rank);
        writer.WriteNumber("score", hit.Score);
        writer.WriteNumber("id", hit.Item.Id);
        writer.WriteString("path", hit.Item.Path);
        writer.WriteString("media_type", hit.Item.MediaType);
        writer.WriteNumber("width", hit.Item.Width);
        writer.WriteNumber("height", hit.Item.Height);
        writer.WriteNumber("size_bytes", hit.Item.SizeBytes);
        if (hit.Item.TakenAt is { } taken)
        {
            writer.WriteString("taken_at", taken);
        }

        if (hit.Item.Camera is { } camera)
        {
            writer.WriteString("camera", camera);
        }

        writer.WriteString("modified_utc", hit.Item.ModifiedUtc);
        writer.WriteEndObject();
    }
}

/// <summary>How many results, in which form, and how hard to search: shared by search and similar.</summary>
internal sealed class ResultOptions
{
    public Option<int> Top { get; } = new("--top", "-k") { Description = "How many results.", DefaultValueFactory = _ => 10 };

    public Option<bool> Json { get; } = new("--json") { Description = "Print the results as JSON." };

    public Option<bool> Exact { get; } = new("--exact") { Description = "Exact search even on large collections (slower, never misses)." };

    public Option<int?> Expansion { get; } = new("--ef")
    {
        Description = $"HNSW search expansion on large collections: higher is slower and misses less (default {Collection.DefaultSearchExpansion}).",
    };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Top, Json, Exact, Expansion })
        {
            command.Options.Add(option);
        }
    }

    public SearchMode Mode(ParseResult parse) => parse.GetValue(Exact) ? SearchMode.Exact : SearchMode.Auto;

    /// <summary>Sets the collection's search expansion when --ef is given (validated there: a typed error when out of range).</summary>
    public void ApplyTo(ParseResult parse, IVectorCollection target)
    {
        if (parse.GetValue(Expansion) is { } value)
        {
            target.SearchExpansion = value;
        }
    }
}
