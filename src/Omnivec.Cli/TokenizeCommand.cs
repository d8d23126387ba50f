using System.CommandLine;
using Omnivec.Models;
using Omnivec.Text;

namespace Omnivec.Cli;

/// <summary><c>omnivec tokenize</c>: the model's token ids for texts (full context length).</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var texts = new Argument<string[]>("text") { Description = "Texts to tokenize.", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "Print {\"text\", \"ids\"} per text per line." };
        var command = new Command("tokenize", "Show the token ids a model's text tower receives.");
        model.AddTo(command);
        command.Arguments.Add(texts);
        command.Options.Add(json);
        command.SetAction(async (parse, cancellationToken) =>
        {
            string directory = await ModelResolver.ResolveDirectoryAsync(parse.GetValue(model.Model)!, model.GetVariant(parse), cancellationToken).ConfigureAwait(false);
            ClipModelFiles files = ClipModelLayout.SelectFromDirectory(directory, model.GetVariant(parse));
            string tokenizerDirectory = files.Kind == ClipLayoutKind.Immich && Directory.Exists(Path.Combine(directory, "textual"))
                ? Path.Combine(directory, "textual")
                : directory;
            ClipTokenizer tokenizer = ClipTokenizer.FromDirectory(tokenizerDirectory);
            bool asJson = parse.GetValue(json);
            foreach (string text in parse.GetValue(texts) ?? [])
            {
                int[] ids = tokenizer.Encode(text);
                if (tokenizer.CountTokens(text) > tokenizer.ContextLength)
                {
                    Output.Warn($"text truncated to {tokenizer.ContextLength} tokens: {Truncate(text)}");
                }

                if (asJson)
                {
                    Output.WriteJsonLine(writer =>
                    {
                        writer.WriteStartObject();
                        writer.WriteString("text", text);
                        writer.WriteStartArray("ids");
                        foreach (int id in ids)
                        {
                            writer.WriteNumberValue(id);
                        }

                        writer.WriteEndArray();
                        writer.WriteEndObject();
                    });
                }
                else
                {
                    Console.WriteLine($"{text}\n  {string.Join(' ', ids)}");
                }
            }

            return 0;
        });
        return command;
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
