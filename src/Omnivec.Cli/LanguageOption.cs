using System.CommandLine;
using Microsoft.Extensions.AI;
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
    /// The generator reading texts in the language asked for: unchanged when none is asked or the model takes none;
    /// an unknown language fails here, before any work.
    /// </summary>
    /// <exception cref="UnknownLanguageException">The model does not know the language.</exception>
    public IMultimodalEmbeddingGenerator Apply(ParseResult parse, IMultimodalEmbeddingGenerator generator)
    {
        string? language = parse.GetValue(Option);
        if (string.IsNullOrWhiteSpace(language))
        {
            return generator.GetService(typeof(TextLanguages)) is TextLanguages told
                ? new InLanguage(generator, told, FromLocale(told, Environment.GetEnvironmentVariable))
                : generator;
        }

        if (generator.GetService(typeof(TextLanguages)) is not TextLanguages languages)
        {
            if (EmbedderOptions.Given(parse, Option))
            {
                Output.Warn($"--language {language}: this model ({generator.Space.ModelId}) reads any language without being told; ignored.");
            }

            return generator;
        }

        if (!languages.TryResolve(language, out string code))
        {
            generator.Dispose();
            throw new UnknownLanguageException(language, languages);
        }

        return new InLanguage(generator, languages, code);
    }

    /// <summary>
    /// The query language when neither --language nor OMNIVEC_LANGUAGE says: the locale's (LC_ALL, else LC_MESSAGES,
    /// else LANG, as POSIX orders them; <c>de_DE.UTF-8</c> → <c>deu_Latn</c>). C, POSIX or no locale → eng_Latn; a
    /// language the model does not know → eng_Latn with a one-line notice.
    /// </summary>
    internal static string FromLocale(TextLanguages languages, Func<string, string?> environment)
    {
        string english = languages.TryResolve("eng_Latn", out string en) ? en : languages.Default;
        foreach (string variable in (string[])["LC_ALL", "LC_MESSAGES", "LANG"])
        {
            string? value = environment(variable);
            if (string.IsNullOrWhiteSpace(value))
            {
                continue;
            }

            // language[_territory][.codeset][@modifier]
            string locale = value.Trim();
            int end = locale.IndexOfAny(['.', '@']);
            locale = end >= 0 ? locale[..end] : locale;
            if (locale is "" or "C" or "POSIX")
            {
                return english;
            }

            if (languages.TryResolve(locale, out string code))
            {
                return code;
            }

            Output.Warn($"the locale's language ({variable}={value}) is not one this model knows; reading queries as {english} (set --language or OMNIVEC_LANGUAGE).");
            return english;
        }

        return english;
    }

    /// <summary>The same model with every text read in one language (the code glued in front, the form its tokenizer reads).</summary>
    private sealed class InLanguage(IMultimodalEmbeddingGenerator inner, TextLanguages languages, string code) : IMultimodalEmbeddingGenerator
    {
        public EmbeddingSpace Space => inner.Space;

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
            CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(values);
            return inner.GenerateAsync(values.Select(v => v is null ? v! : languages.Apply(v, code)).ToArray(), options, cancellationToken);
        }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null,
            CancellationToken cancellationToken = default) => inner.GenerateAsync(values, options, cancellationToken);

        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceKey is null && serviceType.IsInstanceOfType(this) ? this : inner.GetService(serviceType, serviceKey);

        public void Dispose() => inner.Dispose();
    }
}
