using System.Globalization;
using System.Text;

namespace Omnivec.Index.Search;

/// <summary>
/// The one tokenizer of the lexical index, shared by both stores so that they index and query the same words.
/// Text is decomposed (NFKD), diacritics are dropped, letters are lower-cased, and every run of letters and digits is
/// one token; everything else (spaces, <c>_</c>, <c>.</c>, <c>-</c>, <c>/</c>, quotes, symbols) separates tokens. So
/// <c>IMG_0042.jpg</c> is the tokens <c>img</c>, <c>0042</c>, <c>jpg</c>, and the queries <c>IMG_0042</c>,
/// <c>img_0042</c>, <c>IMG_0042.jpg</c> and <c>0042</c> all match it. The stores receive already tokenized text
/// (tokens joined by single spaces) and query strings built here from tokens only, so user input never reaches a
/// full-text query parser as syntax.
/// </summary>
internal static class LexicalText
{
    /// <summary>Longest field text tokenized (a caption longer than this is indexed by its beginning).</summary>
    internal const int MaxFieldChars = 8_000;

    /// <summary>Longest token kept (PostgreSQL refuses words above 2047 bytes).</summary>
    internal const int MaxTokenChars = 200;

    /// <summary>Most words of a query that are looked up.</summary>
    internal const int MaxQueryWords = 16;

    /// <summary>The tokens of <paramref name="text"/>, in order.</summary>
    internal static List<string> Tokens(string? text)
    {
        var tokens = new List<string>();
        if (string.IsNullOrEmpty(text))
        {
            return tokens;
        }

        if (text.Length > MaxFieldChars)
        {
            text = text[..MaxFieldChars];
        }

        string decomposed;
        try
        {
            decomposed = text.Normalize(NormalizationForm.FormKD);
        }
        catch (ArgumentException)
        {
            // Lone surrogates cannot be normalised; they are separators anyway.
            decomposed = text;
        }

        var current = new StringBuilder();
        foreach (char c in decomposed)
        {
            UnicodeCategory category = char.GetUnicodeCategory(c);
            if (category is UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            if (IsTokenChar(category))
            {
                if (current.Length < MaxTokenChars)
                {
                    current.Append(char.ToLowerInvariant(c));
                }
            }
            else if (current.Length > 0)
            {
                tokens.Add(current.ToString());
                current.Clear();
            }
        }

        if (current.Length > 0)
        {
            tokens.Add(current.ToString());
        }

        return tokens;
    }

    /// <summary>The tokens of <paramref name="text"/> joined by single spaces: what a store indexes.</summary>
    internal static string Join(string? text) => string.Join(' ', Tokens(text));

    /// <summary>The indexed fields of an item: its file name, its folder, its camera, and its caption and other text metadata.</summary>
    internal static LexicalDocument Document(CollectionItem item)
    {
        string path = item.Path;
        // A moment of a video (clip.mp4#t=3.2,6.8) is found by the video's name; the offsets are not words.
        int fragment = path.LastIndexOf("#t=", StringComparison.Ordinal);
        if (fragment > 0)
        {
            path = path[..fragment];
        }

        int slash = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\'));
        // An upload is stored under a content-derived file name; the name a person knows is in Extra["name"].
        string name = item.Extra is { } named && named.TryGetValue("name", out string? given) && !string.IsNullOrWhiteSpace(given)
            ? given
            : slash >= 0 ? path[(slash + 1)..] : path;
        string folder = slash > 0 ? path[..slash] : "";
        string? caption = item.Caption;
        if (item.Extra is { Count: > 0 } extra)
        {
            // Text metadata an indexer stored beside the caption (sidecar descriptions, keywords); not numbers or offsets.
            IEnumerable<string> words = extra.Where(p => p.Key is "keywords" or "title" or "description" or "sidecar" or "tags").Select(p => p.Value);
            caption = string.Join(' ', words.Prepend(caption ?? ""));
        }

        return new LexicalDocument(Join(name), Join(folder), Join(item.Camera), Join(caption));
    }

    /// <summary>Reads a query as people type it: whitespace separates words, each word is the phrase of its tokens.</summary>
    internal static LexicalQuery Parse(string? text)
    {
        var words = new List<string[]>();
        if (string.IsNullOrWhiteSpace(text))
        {
            return new LexicalQuery(words);
        }

        foreach (string part in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            List<string> tokens = Tokens(part);
            if (tokens.Count > 0 && !words.Any(w => w.SequenceEqual(tokens)))
            {
                words.Add([.. tokens]);
                if (words.Count == MaxQueryWords)
                {
                    break;
                }
            }
        }

        return new LexicalQuery(words);
    }

    private static bool IsTokenChar(UnicodeCategory category) => category is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or
        UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
}

/// <summary>The tokenized fields of one item (tokens joined by spaces).</summary>
internal sealed record LexicalDocument(string Name, string Folder, string Camera, string Caption);

/// <summary>
/// A parsed lexical query: words, each a phrase of tokens. The last token of a word also matches as a prefix when it
/// is long enough to mean something (three letters, or two digits): <c>IMG_00</c> finds <c>IMG_0042.jpg</c>.
/// </summary>
internal sealed class LexicalQuery(IReadOnlyList<string[]> words)
{
    /// <summary>The words, each the tokens of one whitespace-separated part of the query.</summary>
    public IReadOnlyList<string[]> Words { get; } = words;

    /// <summary>True when the query has no word to look for.</summary>
    public bool IsEmpty => Words.Count == 0;

    /// <summary>
    /// The two passes both stores make: items that contain every word first, then (for more than one word) items that
    /// contain some, each item once, at most <paramref name="top"/>. <paramref name="command"/> gives the store's
    /// query for a pass (<c>all</c>) and row limit, ordered best first; <paramref name="read"/> reads one row's item
    /// and its relevance (higher is better).
    /// </summary>
    public List<TextHit> Collect(int top, Func<bool, int, System.Data.Common.DbCommand> command,
        Func<System.Data.Common.DbDataReader, (CollectionItem Item, double Relevance)> read) =>
        Collect(top, command, (reader, all) =>
        {
            (CollectionItem item, double relevance) = read(reader);
            return new TextHit(item, relevance, all);
        }, static hit => hit.Item.Id);

    /// <summary>
    /// The passes of <see cref="Collect(int, Func{bool, int, System.Data.Common.DbCommand}, Func{System.Data.Common.DbDataReader, ValueTuple{CollectionItem, double}})"/>
    /// with any row reader: <paramref name="read"/> makes one hit of a row (and whether it came from the all-words pass),
    /// <paramref name="idOf"/> gives its item's id. <paramref name="allWordsOnly"/> stops after the all-words pass.
    /// </summary>
    public List<T> Collect<T>(int top, Func<bool, int, System.Data.Common.DbCommand> command, Func<System.Data.Common.DbDataReader, bool, T> read,
        Func<T, long> idOf, bool allWordsOnly = false)
    {
        var hits = new List<T>();
        var seen = new HashSet<long>();
        foreach (bool all in (bool[])[true, false])
        {
            // One word: the all-words pass (phrase with its prefix) already found every item the any-word pass would.
            if (IsEmpty || hits.Count >= top || (!all && (Words.Count == 1 || allWordsOnly)))
            {
                break;
            }

            using System.Data.Common.DbCommand pass = command(all, top + seen.Count);
            using System.Data.Common.DbDataReader reader = pass.ExecuteReader();
            while (reader.Read() && hits.Count < top)
            {
                T hit = read(reader, all);
                if (seen.Add(idOf(hit)))
                {
                    hits.Add(hit);
                }
            }
        }

        return hits;
    }

    /// <summary>
    /// An FTS5 MATCH expression. <paramref name="all"/>: every word must occur (each as a phrase, its last token also as
    /// a prefix); otherwise any word, with exact phrases counted on top of prefix matches so they rank higher.
    /// Tokens are letters and digits only, so the quoted strings need no escaping.
    /// </summary>
    public string ToFts5(bool all)
    {
        var parts = new List<string>();
        foreach (string[] word in Words)
        {
            string phrase = "\"" + string.Join(' ', word) + "\"";
            bool prefix = AllowsPrefix(word[^1]);
            if (all)
            {
                parts.Add(prefix ? phrase + "*" : phrase);
            }
            else
            {
                parts.Add(phrase);
                if (prefix)
                {
                    parts.Add(phrase + "*");
                }
            }
        }

        return string.Join(all ? " AND " : " OR ", parts);
    }

    /// <summary>A PostgreSQL tsquery (input syntax, no parser or dictionary applied), with the same meaning as <see cref="ToFts5"/>.</summary>
    public string ToTsQuery(bool all)
    {
        var parts = new List<string>();
        foreach (string[] word in Words)
        {
            string exact = string.Join(" <-> ", word.Select(t => "'" + t + "'"));
            bool prefix = AllowsPrefix(word[^1]);
            string withPrefix = prefix ? exact + ":*" : exact;
            if (all)
            {
                parts.Add("(" + withPrefix + ")");
            }
            else
            {
                parts.Add("(" + exact + ")");
                if (prefix)
                {
                    parts.Add("(" + withPrefix + ")");
                }
            }
        }

        return string.Join(all ? " & " : " | ", parts);
    }

    /// <summary>
    /// True when <paramref name="document"/> contains every word, as the stores match them: each word's tokens in a row
    /// within one field, the last of them also as a prefix when <see cref="AllowsPrefix"/>. False for an empty query.
    /// </summary>
    public bool MatchesAll(LexicalDocument document)
    {
        if (IsEmpty)
        {
            return false;
        }

        string[][] fields = [.. new[] { document.Name, document.Folder, document.Camera, document.Caption }
            .Select(f => f.Split(' ', StringSplitOptions.RemoveEmptyEntries))];
        return Words.All(word => fields.Any(tokens => ContainsPhrase(tokens, word)));
    }

    private static bool ContainsPhrase(string[] tokens, string[] word)
    {
        bool prefix = AllowsPrefix(word[^1]);
        for (int start = 0; start + word.Length <= tokens.Length; start++)
        {
            bool all = true;
            for (int i = 0; i < word.Length && all; i++)
            {
                string token = tokens[start + i];
                all = i == word.Length - 1 && prefix ? token.StartsWith(word[i], StringComparison.Ordinal) : token == word[i];
            }

            if (all)
            {
                return true;
            }
        }

        return false;
    }

    private static bool AllowsPrefix(string token) => token.Length >= 3 || (token.Length == 2 && token.All(char.IsDigit));
}

/// <summary>Matches words against one item's indexed text as the lexical index does, without asking a store.</summary>
public static class LexicalMatch
{
    /// <summary>
    /// True when the item's file name (for an upload, the name it was uploaded with), folder, camera or caption contains
    /// every word of <paramref name="words"/>, as <see cref="IVectorCollection.SearchText"/> matches them (case and
    /// accents ignored, <c>_</c>, <c>.</c>, <c>-</c> separate tokens, the last token of a word of three or more letters
    /// also as a prefix). False when <paramref name="words"/> has no word.
    /// </summary>
    public static bool ContainsAllWords(CollectionItem item, string words)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(words);
        return LexicalText.Parse(words).MatchesAll(LexicalText.Document(item));
    }
}
