using System.CommandLine;
using System.Text.Json;
using Omnivec.Onnx;

namespace Omnivec.Cli;

/// <summary><c>omnivec embed</c>: texts and images to vectors, one JSON line per input.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var texts = new Option<string[]>("--text", "-t") { Description = "A text to embed (repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var images = new Option<string[]>("--image", "-i") { Description = "An image file to embed (repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per input per line (the full vector)." };
        var command = new Command("embed", "Embed texts and images. Texts print first, then images, each in the order given.");
        model.AddTo(command);
        command.Options.Add(texts);
        command.Options.Add(images);
        command.Options.Add(json);
        command.SetAction(async (parse, cancellationToken) =>
        {
            string[] textValues = parse.GetValue(texts) ?? [];
            string[] imageValues = parse.GetValue(images) ?? [];
            if (textValues.Length == 0 && imageValues.Length == 0)
            {
                Output.Error("nothing to embed: give --text and/or --image");
                return 2;
            }

            using ClipEmbeddingGenerator generator = await ModelResolver.LoadAsync(parse.GetValue(model.Model)!, model.GetVariant(parse), cancellationToken).ConfigureAwait(false);
            bool asJson = parse.GetValue(json);
            int failures = 0;

            if (textValues.Length > 0)
            {
                float[][] vectors = generator.EmbedTexts(textValues, cancellationToken);
                for (int i = 0; i < textValues.Length; i++)
                {
                    Print(asJson, textValues[i], "text", generator, vectors[i]);
                }
            }

            if (imageValues.Length > 0)
            {
                IReadOnlyList<EmbeddingOutcome> outcomes = generator.EmbedImageFiles(imageValues, cancellationToken);
                for (int i = 0; i < imageValues.Length; i++)
                {
                    if (outcomes[i].Error is { } error)
                    {
                        failures++;
                        Output.Error(error.Message);
                        continue;
                    }

                    Print(asJson, imageValues[i], "image", generator, outcomes[i].Embedding!.Vector.Span);
                }
            }

            return failures == 0 ? 0 : 1;
        });
        return command;
    }

    private static void Print(bool asJson, string input, string modality, ClipEmbeddingGenerator generator, ReadOnlySpan<float> vector)
    {
        if (!asJson)
        {
            Console.WriteLine($"{modality,-5} {input}  {vector.Length}-d {Output.Preview(vector)}");
            return;
        }

        float[] copy = vector.ToArray();
        Output.WriteJsonLine(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("input", input);
            writer.WriteString("modality", modality);
            writer.WriteString("model", generator.Space.ModelId);
            writer.WriteNumber("dimensions", copy.Length);
            writer.WriteStartArray("embedding");
            foreach (float value in copy)
            {
                writer.WriteNumberValue(value);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }
}
