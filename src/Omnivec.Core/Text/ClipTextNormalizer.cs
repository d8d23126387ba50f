using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Omnivec.Text;

/// <summary>
/// The text clean-up of CLIP's reference tokenizer, in its order: NFC (ftfy's fix-up reduced to it), Python's
/// html.unescape twice, whitespace runs to one space, strip, then Python's str.lower().
/// </summary>
/// <remarks>Stateless, so one instance serves every thread.</remarks>
internal sealed class ClipTextNormalizer : Normalizer
{
    private const int StackLimit = 256;

    public static ClipTextNormalizer Instance { get; } = new();

    private ClipTextNormalizer() { }

    public override string Normalize(string original)
    {
        ArgumentNullException.ThrowIfNull(original);
        string text = original.IsNormalized(NormalizationForm.FormC) ? original : original.Normalize(NormalizationForm.FormC);
        text = PythonHtml.Unescape(PythonHtml.Unescape(text));
        return IsClean(text) ? text : CleanAndLower(text);
    }

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());

    /// <summary>True when collapsing, stripping and lowering would change nothing, which is the common case for prompts.</summary>
    private static bool IsClean(string text)
    {
        if (text.Length == 0)
        {
            return true;
        }

        if (IsPythonSpace(text[0]) || IsPythonSpace(text[^1]))
        {
            return false;
        }

        bool previousWasSpace = false;
        foreach (char c in text)
        {
            if (char.IsAscii(c))
            {
                if (char.IsAsciiLetterUpper(c) || (c < ' ' && char.IsWhiteSpace(c)))
                {
                    return false;
                }

                bool isSpace = c == ' ';
                if (isSpace && previousWasSpace)
                {
                    return false;
                }

                previousWasSpace = isSpace;
            }
            else
            {
                // Leave every non-ASCII text to the full path: surrogates, İ and Σ need context.
                return false;
            }
        }

        return true;
    }

    private static string CleanAndLower(string text)
    {
        // Python's strip() also removes U+001C..U+001F; the regex \s that collapses runs does not treat them as spaces.
        int start = 0;
        int end = text.Length;
        while (start < end && IsPythonSpace(text[start]))
        {
            start++;
        }

        while (end > start && IsPythonSpace(text[end - 1]))
        {
            end--;
        }

        // Lowering grows the text only through U+0130 (one char to two).
        int capacity = (end - start) * 2;
        char[]? rented = null;
        Span<char> buffer = capacity <= StackLimit ? stackalloc char[StackLimit] : (rented = ArrayPool<char>.Shared.Rent(capacity));
        try
        {
            int written = 0;
            bool inSpaceRun = false;
            ReadOnlySpan<char> source = text.AsSpan(0, end);
            for (int i = start; i < end; i++)
            {
                char c = source[i];
                if (char.IsWhiteSpace(c))
                {
                    // Runs of regex \s (Unicode White_Space) become one space.
                    if (!inSpaceRun)
                    {
                        buffer[written++] = ' ';
                        inSpaceRun = true;
                    }

                    continue;
                }

                inSpaceRun = false;
                if (char.IsHighSurrogate(c) && i + 1 < end && char.IsLowSurrogate(source[i + 1]))
                {
                    Rune lower = Rune.ToLowerInvariant(new Rune(c, source[i + 1]));
                    written += lower.EncodeToUtf16(buffer[written..]);
                    i++;
                }
                else if (c == '\u0130')
                {
                    // Python's full case mapping: LATIN CAPITAL LETTER I WITH DOT ABOVE becomes i + COMBINING DOT ABOVE.
                    buffer[written++] = 'i';
                    buffer[written++] = '\u0307';
                }
                else if (c == '\u03A3')
                {
                    buffer[written++] = IsFinalSigma(text, i) ? '\u03C2' : '\u03C3';
                }
                else
                {
                    buffer[written++] = char.ToLowerInvariant(c);
                }
            }

            return new string(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Python's str.isspace(): Unicode White_Space plus the information separators U+001C..U+001F.</summary>
    private static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    /// <summary>
    /// Python lowers CAPITAL SIGMA to final sigma when a cased letter precedes it and none follows, skipping case-ignorable
    /// characters on both sides (Unicode's Final_Sigma condition). Whitespace is neither, so looking at the text before
    /// whitespace collapsing gives the same answer.
    /// </summary>
    private static bool IsFinalSigma(string text, int index)
    {
        int j = index - 1;
        while (j >= 0 && IsCaseIgnorable(text, j))
        {
            j--;
        }

        if (j < 0 || !IsCased(text, j))
        {
            return false;
        }

        j = index + 1;
        while (j < text.Length && IsCaseIgnorable(text, j))
        {
            j++;
        }

        return j == text.Length || !IsCased(text, j);
    }

    private static int AtRuneStart(string text, int index) =>
        char.IsLowSurrogate(text[index]) && index > 0 && char.IsHighSurrogate(text[index - 1]) ? index - 1 : index;

    private static bool IsCased(string text, int index)
    {
        index = AtRuneStart(text, index);
        UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(text, index);
        if (category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter)
        {
            return true;
        }

        // Other_Lowercase / Other_Uppercase (roman numerals, circled letters) have case mappings without being letters.
        if (category is UnicodeCategory.LetterNumber or UnicodeCategory.OtherSymbol)
        {
            Rune r = Rune.GetRuneAt(text, index);
            return Rune.ToLowerInvariant(r) != r || Rune.ToUpperInvariant(r) != r;
        }

        return false;
    }

    private static bool IsCaseIgnorable(string text, int index)
    {
        index = AtRuneStart(text, index);
        char c = text[index];
        // Word_Break MidLetter, MidNumLet and Single_Quote; the categories below cover the rest.
        if (c is '\'' or '.' or ':' or '\u00B7' or '\u0387' or '\u05F4' or '\u2018' or '\u2019' or '\u2024' or '\u2027'
            or '\uFE13' or '\uFE52' or '\uFE55' or '\uFF07' or '\uFF0E' or '\uFF1A')
        {
            return true;
        }

        return CharUnicodeInfo.GetUnicodeCategory(text, index) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
    }
}
