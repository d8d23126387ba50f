using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.AI;
using Omnivec.Indexing.Classification;
using Omnivec.Onnx;
using Spectre.Console;

namespace Omnivec.Cli;

/// <summary><c>omnivec classify</c>: zero-shot classification with CLIP prompt ensembles.</summary>
internal static class ClassifyCommand
{
    public static Command Create()
    {
        var embedder = new EmbedderOptions();
        var images = new Argument<string[]>("image") { Description = "Images to classify.", Arity = ArgumentArity.OneOrMore };
        var labels = new Option<string?>("--labels") { Description = "Comma-separated labels, e.g. \"cat,dog,car\"." };
        var labelsFile = new Option<string?>("--labels-file") { Description = "A file with one label per line." };
        var imagenet = new Option<bool>("--imagenet") { Description = "Use the 1,000 ImageNet classes (the default when no labels are given)." };
        var templates = new Option<string>("--templates") { Description = "Prompt set: imagenet (CLIP's 80 templates, default) or simple (\"a photo of a {}.\").", DefaultValueFactory = _ => "imagenet" };
        var top = new Option<int>("--top", "-k") { Description = "Labels shown per image.", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "One JSON object per image per line." };
        var language = new LanguageOption();
        var command = new Command("classify", "Zero-shot classification: which label fits each image best, with probabilities.");
        command.Arguments.Add(images);
        embedder.AddTo(command);
        language.AddTo(command);
        foreach (Option option in new Option[] { labels, labelsFile, imagenet, templates, top, json })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            IReadOnlyList<string> labelList = ReadLabels(parse.GetValue(labels), parse.GetValue(labelsFile), parse.GetValue(imagenet));
            IReadOnlyList<string> templateList = (parse.GetValue(templates) ?? "imagenet").ToLowerInvariant() switch
            {
                "imagenet" => PromptTemplates.ImageNet,
                "simple" => PromptTemplates.Simple,
                string other => throw new InvalidInputException($"Unknown template set '{other}': use imagenet or simple."),
            };

            using IMultimodalEmbeddingGenerator generator = language.Apply(parse,
                await EmbedderFactory.CreateAsync(parse, embedder, null, cancellationToken).ConfigureAwait(false));
            ZeroShotClassifier classifier = await ZeroShotClassifier.CreateAsync(generator, labelList, templateList, cancellationToken: cancellationToken).ConfigureAwait(false);
            int failures = 0;
            foreach (string path in parse.GetValue(images) ?? [])
            {
                ReadOnlyMemory<float> vector;
                try
                {
                    vector = await EmbedFileAsync(generator, path, cancellationToken).ConfigureAwait(false);
                }
                catch (OmnivecException ex)
                {
                    failures++;
                    Output.Error(ex.Message);
                    continue;
                }

                IReadOnlyList<LabelScore> scores = classifier.Classify(vector.Span);
                Print(path, scores.Take(Math.Max(1, parse.GetValue(top))).ToArray(), parse.GetValue(json));
            }

            return failures == 0 ? 0 : 1;
        });
        return command;
    }

    private static async Task<ReadOnlyMemory<float>> EmbedFileAsync(IMultimodalEmbeddingGenerator generator, string path, CancellationToken cancellationToken)
    {
        if (generator.GetService<IImageFileEmbedder>() is { } files)
        {
            EmbeddingOutcome outcome = files.EmbedImageFiles([path], cancellationToken)[0];
            return outcome.Error is { } error ? throw error : outcome.Embedding!.Vector;
        }

        if (!File.Exists(path))
        {
            throw new InvalidInputException($"{path}: file not found");
        }

        IEmbeddingGenerator<DataContent, Embedding<float>> images = generator;
        byte[] bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        return (await images.GenerateAsync(new DataContent(bytes, "application/octet-stream") { Name = path }, cancellationToken: cancellationToken).ConfigureAwait(false)).Vector;
    }

    private static IReadOnlyList<string> ReadLabels(string? inline, string? file, bool imagenet)
    {
        if (inline is not null)
        {
            return inline.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        if (file is not null)
        {
            if (!File.Exists(file))
            {
                throw new InvalidInputException($"Labels file not found: {file}");
            }

            return File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        }

        _ = imagenet;
        return PromptTemplates.ImageNetClasses;
    }

    private static void Print(string path, LabelScore[] scores, bool asJson)
    {
        if (asJson)
        {
            Output.WriteJsonLine(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("image", path);
                writer.WriteStartArray("labels");
                foreach (LabelScore score in scores)
                {
                    writer.WriteStartObject();
                    writer.WriteString("label", score.Label);
                    writer.WriteNumber("probability", score.Probability);
                    writer.WriteNumber("similarity", score.Similarity);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            });
            return;
        }

        var chart = new BarChart().Label(Markup.Escape(path)).Width(Math.Min(80, Math.Max(40, Console.IsOutputRedirected ? 80 : Console.WindowWidth - 2)));
        foreach (LabelScore score in scores)
        {
            chart.AddItem(Markup.Escape(score.Label), Math.Round(score.Probability * 100, 1), Color.SteelBlue);
        }

        AnsiConsole.Write(chart);
        _ = CultureInfo.InvariantCulture;
    }
}
