namespace Omnivec.Text;

/// <summary>
/// The language query texts are read in when a request names none, for models that are told it (NLLB-CLIP): the one
/// configured (a flag, <c>OMNIVEC_LANGUAGE</c>, a config file), else the locale's (<c>LC_ALL</c>, else
/// <c>LC_MESSAGES</c>, else <c>LANG</c>, as POSIX orders them: <c>de_DE.UTF-8</c> is <c>deu_Latn</c>), else English.
/// One rule for the command line, the HTTP server and the MCP server.
/// </summary>
public sealed class QueryLanguage
{
    private static readonly string[] s_localeVariables = ["LC_ALL", "LC_MESSAGES", "LANG"];

    private QueryLanguage(string? language, string source, bool fromLocale)
    {
        Language = language;
        Source = source;
        FromLocale = fromLocale;
    }

    /// <summary>The language as configured (<c>de</c>, <c>deu_Latn</c>) or as the locale names it (<c>de_DE</c>); null for English (no locale, C or POSIX).</summary>
    public string? Language { get; }

    /// <summary>Where the choice came from, for messages: the configured source given to <see cref="Choose"/>, or the locale variable and its value (<c>LANG=de_DE.UTF-8</c>).</summary>
    public string Source { get; }

    /// <summary>True when the locale chose (a language the model lacks then falls back to English instead of failing).</summary>
    public bool FromLocale { get; }

    /// <summary>The choice: <paramref name="configured"/> when given, else the locale's language read through <paramref name="environment"/>.</summary>
    /// <param name="configured">The language the user set (null or blank: none).</param>
    /// <param name="configuredSource">Where <paramref name="configured"/> came from, e.g. <c>--language</c> or <c>environment OMNIVEC_LANGUAGE</c>.</param>
    /// <param name="environment">Reads an environment variable (<see cref="Environment.GetEnvironmentVariable(string)"/>).</param>
    public static QueryLanguage Choose(string? configured, string configuredSource, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return new QueryLanguage(configured.Trim(), configuredSource ?? "configured", fromLocale: false);
        }

        foreach (string variable in s_localeVariables)
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
            return new QueryLanguage(locale is "" or "C" or "POSIX" ? null : locale, $"{variable}={value}", fromLocale: true);
        }

        return new QueryLanguage(null, "no locale set", fromLocale: true);
    }

    /// <summary>
    /// The model's code for this choice: English (<c>eng_Latn</c>, else the pack's default) when no language is chosen;
    /// a locale language the model does not know is English too, with a notice saying so.
    /// </summary>
    /// <param name="languages">The model's languages (<c>GetService(typeof(TextLanguages))</c>).</param>
    /// <param name="notice">Set when the locale's language was not one the model knows and English is used instead.</param>
    /// <exception cref="UnknownLanguageException">A configured language the model does not know.</exception>
    public string ResolveFor(TextLanguages languages, out string? notice)
    {
        ArgumentNullException.ThrowIfNull(languages);
        notice = null;
        string english = languages.TryResolve("eng_Latn", out string en) ? en : languages.Default;
        if (Language is null)
        {
            return english;
        }

        if (languages.TryResolve(Language, out string code))
        {
            return code;
        }

        if (!FromLocale)
        {
            throw new UnknownLanguageException(Language, languages);
        }

        notice = $"the locale's language ({Source}) is not one this model knows; reading queries as {english}.";
        return english;
    }

    /// <summary>The choice for messages: <c>de_DE (LANG=de_DE.UTF-8)</c>.</summary>
    public override string ToString() => $"{Language ?? "English"} ({Source})";
}
