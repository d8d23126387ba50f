using System.Globalization;

namespace Omnivec.Providers.Google;

/// <summary>
/// A rough count of word-piece tokens, to warn before the service silently drops text beyond its token limit.
/// It is an estimate (the service's tokenizer is not public): each run of letters or digits counts one token per
/// started 8 characters, each CJK character and each punctuation mark counts one.
/// </summary>
internal static class TextTokenEstimate
{
    public static int Estimate(string text)
    {
        int tokens = 0;
        int run = 0;
        foreach (char c in text)
        {
            if (char.IsLetterOrDigit(c) && !IsCjk(c))
            {
                run++;
                continue;
            }

            tokens += Pieces(run);
            run = 0;
            if (!char.IsWhiteSpace(c) && CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.Surrogate || IsCjk(c))
            {
                tokens++;
            }
        }

        return tokens + Pieces(run);
    }

    private static int Pieces(int run) => run == 0 ? 0 : ((run - 1) / 8) + 1;

    private static bool IsCjk(char c) =>
        c is (>= '\u3040' and <= '\u30FF') or (>= '\u3400' and <= '\u4DBF') or (>= '\u4E00' and <= '\u9FFF') or (>= '\uAC00' and <= '\uD7AF');
}
