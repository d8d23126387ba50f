using System.Globalization;
using System.Text;

namespace Omnivec.Text;

/// <summary>
/// Python's <c>html.unescape</c>, which CLIP's reference tokenizer applies twice. <see cref="System.Net.WebUtility.HtmlDecode(string)"/>
/// differs on inputs real captions contain (HTML5-only names, legacy names without ';' such as "&amp;copy 2023",
/// windows-1252 remapping of "&amp;#128;"), and every difference changes token ids.
/// </summary>
internal static partial class PythonHtml
{
    // Python matches names of 1 to 32 characters from this set: [^\t\n\f <&#;]
    private const int MaxNameLength = 32;

    private static readonly Lazy<Dictionary<string, string>> s_entities = new(ParseEntityTable);

    /// <summary>Replaces character references the way Python 3.11's html.unescape does; returns <paramref name="text"/> itself when it has none.</summary>
    public static string Unescape(string text)
    {
        int amp = text.IndexOf('&', StringComparison.Ordinal);
        if (amp < 0)
        {
            return text;
        }

        Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> entities = s_entities.Value.GetAlternateLookup<ReadOnlySpan<char>>();
        var sb = new StringBuilder(text.Length);
        sb.Append(text, 0, amp);
        int i = amp;
        while (i < text.Length)
        {
            char c = text[i];
            if (c != '&')
            {
                int next = text.IndexOf('&', i);
                int end = next < 0 ? text.Length : next;
                sb.Append(text, i, end - i);
                i = end;
                continue;
            }

            int consumed = TryReplaceReference(text.AsSpan(i + 1), sb, entities);
            if (consumed == 0)
            {
                sb.Append('&');
                i++;
            }
            else
            {
                i += 1 + consumed;
            }
        }

        return sb.ToString();
    }

    /// <summary>Appends the replacement of the reference that starts right after an '&amp;' and returns how many characters it used (0: not a reference).</summary>
    private static int TryReplaceReference(ReadOnlySpan<char> s, StringBuilder sb, Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> entities)
    {
        if (s.IsEmpty)
        {
            return 0;
        }

        if (s[0] == '#')
        {
            bool hex = s.Length > 1 && (s[1] == 'x' || s[1] == 'X');
            int start = hex ? 2 : 1;
            int end = start;
            while (end < s.Length && (hex ? char.IsAsciiHexDigit(s[end]) : char.IsAsciiDigit(s[end])))
            {
                end++;
            }

            if (end == start)
            {
                // "&#x" without hex digits is not a reference (and "&#" is not a name either: '#' is excluded from names).
                return 0;
            }

            AppendCodePoint(ParseNumber(s[start..end], hex), sb);
            return end < s.Length && s[end] == ';' ? end + 1 : end;
        }

        int nameLength = 0;
        while (nameLength < s.Length && nameLength < MaxNameLength && !IsNameStop(s[nameLength]))
        {
            nameLength++;
        }

        if (nameLength == 0)
        {
            return 0;
        }

        int matched = nameLength < s.Length && s[nameLength] == ';' ? nameLength + 1 : nameLength;
        ReadOnlySpan<char> name = s[..matched];
        if (entities.TryGetValue(name, out string? value))
        {
            sb.Append(value);
            return matched;
        }

        // The longest known prefix of at least two characters wins; the rest stays as text.
        for (int x = matched - 1; x > 1; x--)
        {
            if (entities.TryGetValue(name[..x], out value))
            {
                sb.Append(value).Append(name[x..]);
                return matched;
            }
        }

        sb.Append('&').Append(name);
        return matched;
    }

    private static bool IsNameStop(char c) => c is '\t' or '\n' or '\f' or ' ' or '<' or '&' or '#' or ';';

    private static int ParseNumber(ReadOnlySpan<char> digits, bool hex)
    {
        // Python parses arbitrarily long numbers; anything past U+10FFFF ends up as U+FFFD, so saturate there.
        const int TooLarge = 0x110000;
        int value = 0;
        foreach (char d in digits)
        {
            int digit = hex ? HexValue(d) : d - '0';
            value = value * (hex ? 16 : 10) + digit;
            if (value >= TooLarge)
            {
                return TooLarge;
            }
        }

        return value;
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static void AppendCodePoint(int num, StringBuilder sb)
    {
        if (s_invalidCharRefs.TryGetValue(num, out char mapped))
        {
            sb.Append(mapped);
        }
        else if (num is >= 0xD800 and <= 0xDFFF or > 0x10FFFF)
        {
            sb.Append('\uFFFD');
        }
        else if (IsInvalidCodePoint(num))
        {
            // Python drops control characters and noncharacters.
        }
        else
        {
            sb.Append(char.ConvertFromUtf32(num));
        }
    }

    private static bool IsInvalidCodePoint(int num) =>
        num is (>= 0x1 and <= 0x8) or 0xB or (>= 0xE and <= 0x1F) or (>= 0x7F and <= 0x9F) or (>= 0xFDD0 and <= 0xFDEF)
        || (num & 0xFFFE) == 0xFFFE;

    private static Dictionary<string, string> ParseEntityTable()
    {
        var map = new Dictionary<string, string>(2300, StringComparer.Ordinal);
        foreach (string line in EntityTable.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int tab = line.IndexOf('\t', StringComparison.Ordinal);
            var value = new StringBuilder(2);
            foreach (string hex in line[(tab + 1)..].Split(' '))
            {
                value.Append(char.ConvertFromUtf32(int.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
            }

            map.Add(line[..tab], value.ToString());
        }

        return map;
    }
}
