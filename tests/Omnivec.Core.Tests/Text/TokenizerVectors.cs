using System.Text;
using System.Text.Json;
using Omnivec.Tests;
using Omnivec.Text;

namespace Omnivec.Core.Tests.Text;

/// <summary>One line of a tokenizer-vectors jsonl: the reference tokenizer's output for a text.</summary>
public sealed record TokenizerVector(string Text, string Kind, int[] BpeIds, int[] Context77)
{
    public override string ToString() => $"{Kind}: {Text}";
}

internal static class TokenizerVectors
{
    private static readonly Lazy<IReadOnlyList<TokenizerVector>> s_reference = new(() => Load(TestPaths.CorpusFile("clip", "tokenizer-vectors.jsonl")));

    // Made with a Python port of simple_tokenizer.py (Python 3.11, regex module, ftfy reduced to NFC like the corpus file)
    // that reproduces every line of the corpus file. They cover what the corpus does not: Python's lower() (final sigma,
    // U+0130), html.unescape (HTML5 names, names without ';', numeric remapping), special tokens inside text, separators
    // that strip() removes but \s keeps, and truncation inside a multi-byte character.
    private static readonly Lazy<IReadOnlyList<TokenizerVector>> s_extra = new(() =>
        Load(Path.Combine(TestPaths.RepoRoot, "tests", "Omnivec.Core.Tests", "Text", "clip-tokenizer-extra-vectors.jsonl")));

    private static readonly Lazy<ClipTokenizer> s_openAI = new(() => ClipTokenizer.FromOpenAIBpeFile(BpeFile));

    public static string BpeFile => TestPaths.CorpusFile("clip", "bpe_simple_vocab_16e6.txt.gz");

    public static IReadOnlyList<TokenizerVector> Reference => s_reference.Value;

    public static IReadOnlyList<TokenizerVector> Extra => s_extra.Value;

    /// <summary>Built once from the OpenAI BPE file, padding with 0; shared because loading takes a moment.</summary>
    public static ClipTokenizer OpenAI => s_openAI.Value;

    public static IReadOnlyList<TokenizerVector> Load(string path)
    {
        var vectors = new List<TokenizerVector>();
        foreach (string line in File.ReadLines(path))
        {
            if (line.Length == 0)
            {
                continue;
            }

            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement root = doc.RootElement;
            vectors.Add(new TokenizerVector(
                root.GetProperty("text").GetString()!,
                root.GetProperty("kind").GetString()!,
                root.GetProperty("bpe_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                root.GetProperty("context77").EnumerateArray().Select(e => e.GetInt32()).ToArray()));
        }

        return vectors;
    }

    /// <summary>The reference's padded ids with the pad id of another convention (Hugging Face pads with the end token).</summary>
    public static int[] WithPad(TokenizerVector v, int padId)
    {
        int[] ids = (int[])v.Context77.Clone();
        int end = 1 + Math.Min(v.BpeIds.Length, 75);
        for (int i = end + 1; i < ids.Length; i++)
        {
            ids[i] = padId;
        }

        return ids;
    }

    /// <summary>Checks every vector and returns one line per mismatch, so a failure lists them all.</summary>
    public static List<string> Mismatches(ClipTokenizer tokenizer, IEnumerable<TokenizerVector> vectors, int padId)
    {
        var failures = new List<string>();
        Span<long> longIds = stackalloc long[77];
        Span<int> intIds = stackalloc int[77];
        foreach (TokenizerVector v in vectors)
        {
            int[] expected = WithPad(v, padId);
            int[] bpe = tokenizer.EncodeToBpeIds(v.Text).ToArray();
            if (!bpe.SequenceEqual(v.BpeIds))
            {
                failures.Add($"bpe {Show(v)}: expected [{string.Join(",", v.BpeIds)}] got [{string.Join(",", bpe)}]");
            }

            int[] fromString = tokenizer.Encode(v.Text);
            if (!fromString.SequenceEqual(expected))
            {
                failures.Add($"Encode(string) {Show(v)}: expected [{string.Join(",", expected)}] got [{string.Join(",", fromString)}]");
            }

            int written = tokenizer.Encode(v.Text.AsSpan(), longIds);
            if (!longIds.ToArray().Select(x => (int)x).SequenceEqual(expected))
            {
                failures.Add($"Encode(span, long) {Show(v)}");
            }

            int writtenInt = tokenizer.Encode(v.Text.AsSpan(), intIds);
            if (!intIds.SequenceEqual(expected))
            {
                failures.Add($"Encode(span, int) {Show(v)}");
            }

            int nonPad = Math.Min(v.BpeIds.Length + 2, 77);
            if (written != nonPad || writtenInt != nonPad)
            {
                failures.Add($"count {Show(v)}: expected {nonPad} non-pad ids, got {written} / {writtenInt}");
            }

            if (tokenizer.CountTokens(v.Text) != v.BpeIds.Length + 2)
            {
                failures.Add($"CountTokens {Show(v)}: expected {v.BpeIds.Length + 2}, got {tokenizer.CountTokens(v.Text)}");
            }
        }

        return failures;
    }

    private static string Show(TokenizerVector v)
    {
        var sb = new StringBuilder();
        foreach (char c in v.Text)
        {
            sb.Append(c is < ' ' or > '~' ? $"\\u{(int)c:X4}" : c.ToString());
        }

        return $"[{v.Kind}] \"{sb}\"";
    }
}
