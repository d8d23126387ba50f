using System.CommandLine;
using Omnivec.Text;

namespace Omnivec.Cli;

/// <summary>
/// <c>--language</c>: the language of the query text, for models that are told it (NLLB-CLIP reads a FLORES-200 code in
/// front of the text). Models that read any language (CLIP, SigLIP, M-CLIP) do not need it and ignore it.
/// </summary>
internal sealed class LanguageOption
{
    public Option<string?> Option { get; } = new("--language", "-l")
    {
        Description = "Language of the query words for models that take one (NLLB-CLIP): a FLORES-200 code (deu_Latn) or a language code (de, zh-TW). " +
                      "Default: OMNIVEC_LANGUAGE, else the locale's (LC_ALL, LC_MESSAGES, LANG: de_DE.UTF-8 is deu_Latn; C is eng_Latn). Models that read any language ignore it.",
        DefaultValueFactory = _ => CliSettings.Current.Value("language"),
    };

    public void AddTo(Command command) => command.Options.Add(Option);

    /// <summary>
    /// The language asked for: --language, else OMNIVEC_LANGUAGE or the config file, else the locale's (the rule the
    /// library's <see cref="QueryLanguage"/> applies for every surface).
    /// </summary>
    public QueryLanguage Choice(ParseResult parse)
    {
        string? language = parse.GetValue(Option);
        string source = EmbedderOptions.Given(parse, Option) ? "--language" : CliSettings.Current["language"].Source;
        return QueryLanguage.Choose(language, source, Environment.GetEnvironmentVariable);
    }

    /// <summary>
    /// The generator reading texts without a language in the one chosen (<see cref="Choice"/>): unchanged when the
    /// model takes none; an unknown configured language fails here, before any work; a locale language the model lacks
    /// is English with a one-line notice.
    /// </summary>
    /// <exception cref="UnknownLanguageException">The model does not know the language.</exception>
    public IMultimodalEmbeddingGenerator Apply(ParseResult parse, IMultimodalEmbeddingGenerator generator)
    {
        QueryLanguage choice = Choice(parse);
        if (generator.GetService(typeof(TextLanguages)) is not TextLanguages languages)
        {
            if (EmbedderOptions.Given(parse, Option))
            {
                Output.Warn($"--language {choice.Language}: this model ({generator.Space.ModelId}) reads any language without being told; ignored.");
            }

            return generator;
        }

        string code;
        try
        {
            code = choice.ResolveFor(languages, out string? notice);
            if (notice is not null)
            {
                Output.Warn(notice + " Set --language or OMNIVEC_LANGUAGE to choose another.");
            }
        }
        catch
        {
            generator.Dispose();
            throw;
        }

        return new LanguageEmbeddingGenerator(generator, code);
    }

    /// <summary>The start-up line of a server: which language texts without one are read in, and why.</summary>
    public static void Report(IMultimodalEmbeddingGenerator generator, QueryLanguage choice)
    {
        if (generator.GetService(typeof(LanguageEmbeddingGenerator)) is LanguageEmbeddingGenerator told)
        {
            Console.Error.WriteLine($"omnivec: {generator.Space.ModelId} reads queries that name no language in {told.Language} ({choice.Source}); a request's \"language\" overrides it.");
        }
    }
}
