using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Omnivec.Text;

/// <summary>
/// RoBERTa's tokenizer as CLAP's text tower uses it: GPT-2's byte-level BPE (Microsoft.ML.Tokenizers'
/// <see cref="BpeTokenizer"/> at byte level with GPT-2's pre-tokenisation pattern, no prefix space, no normalisation), wrapped as
/// <c>&lt;s&gt; … &lt;/s&gt;</c>, truncated to the model's maximum length and padded with <c>&lt;pad&gt;</c>. Special token
/// strings typed in the text (<c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c>, <c>&lt;mask&gt;</c>) become
/// their ids, as in Hugging Face's tokenizer. Reads <c>vocab.json</c> + <c>merges.txt</c>, else <c>tokenizer.json</c>.
/// </summary>
public sealed partial class RobertaTokenizer : ITextTokenizer
{
    private const string Bos = "<s>";
    private const string Eos = "</s>";
    private const string Pad = "<pad>";
    private const string Unk = "<unk>";
    private const string Mask = "<mask>";
    private const int DefaultContextLength = 512;

    private readonly BpeTokenizer _bpe;
    private readonly (string Text, int Id)[] _specials;

    private RobertaTokenizer(BpeTokenizer bpe, (string Text, int Id)[] specials, int bosId, int eosId, int padId, int contextLength)
    {
        _bpe = bpe;
        _specials = specials;
        BosTokenId = bosId;
        EosTokenId = eosId;
        PadTokenId = padId;
        ContextLength = contextLength;
    }

    /// <inheritdoc />
    public int ContextLength { get; }

    /// <inheritdoc />
    public int PadTokenId { get; }

    /// <summary>Id of <c>&lt;s&gt;</c>, written first.</summary>
    public int BosTokenId { get; }

    /// <summary>Id of <c>&lt;/s&gt;</c>, written after the last text token.</summary>
    public int EosTokenId { get; }

    /// <summary>
    /// Loads the tokenizer of a model folder. The context length is <c>tokenizer_config.json</c>'s
    /// <c>model_max_length</c>, capped by <paramref name="maxPositions"/> when given (512 when neither says).
    /// </summary>
    /// <exception cref="ModelConfigurationException">No usable vocabulary, or special tokens missing from it.</exception>
    public static RobertaTokenizer FromDirectory(string directory, int? maxPositions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string vocabPath = Path.Combine(directory, "vocab.json");
        string mergesPath = Path.Combine(directory, "merges.txt");
        string jsonPath = Path.Combine(directory, "tokenizer.json");
        byte[] vocab;
        byte[] merges;
        if (File.Exists(vocabPath) && File.Exists(mergesPath))
        {
            vocab = File.ReadAllBytes(vocabPath);
            merges = File.ReadAllBytes(mergesPath);
        }
        else if (File.Exists(jsonPath))
        {
            (vocab, merges) = FromTokenizerJson(jsonPath);
        }
        else
        {
            throw new ModelConfigurationException($"{directory}: no tokenizer (vocab.json + merges.txt or tokenizer.json).");
        }

        Dictionary<string, int> ids;
        try
        {
            ids = JsonSerializer.Deserialize<Dictionary<string, int>>(vocab) ?? throw new JsonException("null");
        }
        catch (JsonException ex)
        {
            throw new ModelConfigurationException($"{directory}: the vocabulary is not a JSON object of token ids: {ex.Message}", ex);
        }

        int Id(string token) => ids.TryGetValue(token, out int id)
            ? id
            : throw new ModelConfigurationException($"{directory}: the vocabulary has no {token} token; not a RoBERTa tokenizer.");

        int bos = Id(Bos);
        int eos = Id(Eos);
        int pad = Id(Pad);
        var specials = new List<(string, int)> { (Bos, bos), (Eos, eos), (Pad, pad) };
        foreach (string optional in new[] { Unk, Mask })
        {
            if (ids.TryGetValue(optional, out int id))
            {
                specials.Add((optional, id));
            }
        }

        int context = ReadMaxLength(Path.Combine(directory, "tokenizer_config.json")) ?? DefaultContextLength;
        if (maxPositions is int positions && positions >= 4)
        {
            context = Math.Min(context, positions);
        }

        BpeTokenizer bpe;
        try
        {
            string[] mergeLines = Encoding.UTF8.GetString(merges).Split('\n')
                .Select(l => l.TrimEnd('\r'))
                .Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal))
                .ToArray();
            bpe = BpeTokenizer.Create(new BpeOptions(ids)
            {
                Merges = mergeLines,
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(Gpt2Split(), null),
            });
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or JsonException or IOException)
        {
            throw new ModelConfigurationException($"{directory}: the byte-level BPE vocabulary cannot be loaded: {ex.Message}", ex);
        }

        return new RobertaTokenizer(bpe, [.. specials], bos, eos, pad, context);
    }

    /// <inheritdoc />
    public int Encode(ReadOnlySpan<char> text, Span<long> destination)
    {
        if (destination.Length < ContextLength)
        {
            throw new ArgumentException($"The destination must hold {ContextLength} ids.", nameof(destination));
        }

        List<int> ids = Tokenize(text.ToString());
        int body = Math.Min(ids.Count, ContextLength - 2);
        destination[0] = BosTokenId;
        for (int i = 0; i < body; i++)
        {
            destination[1 + i] = ids[i];
        }

        destination[1 + body] = EosTokenId;
        destination[(body + 2)..ContextLength].Fill(PadTokenId);
        return body + 2;
    }

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        long[] buffer = new long[ContextLength];
        Encode(text, buffer);
        return Array.ConvertAll(buffer, v => (int)v);
    }

    /// <inheritdoc />
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Tokenize(text).Count + 2;
    }

    /// <summary>The BPE ids of <paramref name="text"/> without &lt;s&gt;, &lt;/s&gt; or padding.</summary>
    private List<int> Tokenize(string text)
    {
        var ids = new List<int>();
        int start = 0;
        int i = 0;
        while (i < text.Length)
        {
            (string Text, int Id)? special = null;
            if (text[i] == '<')
            {
                foreach ((string Text, int Id) s in _specials)
                {
                    if (string.CompareOrdinal(text, i, s.Text, 0, s.Text.Length) == 0)
                    {
                        special = s;
                        break;
                    }
                }
            }

            if (special is not { } found)
            {
                i++;
                continue;
            }

            int end = i;
            if (found.Text == Mask)
            {
                // <mask> strips the whitespace on its left (lstrip), as RoBERTa's tokenizer declares it.
                while (end > start && char.IsWhiteSpace(text[end - 1]))
                {
                    end--;
                }
            }

            AddBpe(text.AsSpan(start, end - start), ids);
            ids.Add(found.Id);
            i += found.Text.Length;
            start = i;
        }

        AddBpe(text.AsSpan(start), ids);
        return ids;
    }

    private void AddBpe(ReadOnlySpan<char> segment, List<int> ids)
    {
        if (segment.IsEmpty)
        {
            return;
        }

        ids.AddRange(_bpe.EncodeToIds(segment));
    }

    /// <summary>GPT-2's pre-tokenisation pattern, as Hugging Face's ByteLevel pre-tokenizer uses it.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Gpt2Split();

    private static int? ReadMaxLength(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("model_max_length", out JsonElement m)
                && m.ValueKind == JsonValueKind.Number && m.TryGetDouble(out double d) && d >= 4 && d <= 65536
                ? (int)d
                : null;
        }
        catch (JsonException ex)
        {
            throw new ModelConfigurationException($"{path} is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>vocab.json and merges.txt contents from a tokenizer.json whose model is BPE (merges as "a b" or ["a", "b"]).</summary>
    private static (byte[] Vocab, byte[] Merges) FromTokenizerJson(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!doc.RootElement.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object
                || !model.TryGetProperty("vocab", out JsonElement vocab) || vocab.ValueKind != JsonValueKind.Object
                || !model.TryGetProperty("merges", out JsonElement merges) || merges.ValueKind != JsonValueKind.Array)
            {
                throw new ModelConfigurationException($"{path}: no BPE model with vocab and merges.");
            }

            var text = new StringBuilder("#version: 0.2\n");
            foreach (JsonElement merge in merges.EnumerateArray())
            {
                text.Append(merge.ValueKind == JsonValueKind.Array
                    ? merge[0].GetString() + " " + merge[1].GetString()
                    : merge.GetString()).Append('\n');
            }

            return (Encoding.UTF8.GetBytes(vocab.GetRawText()), Encoding.UTF8.GetBytes(text.ToString()));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new ModelConfigurationException($"{path}: cannot read the BPE model: {ex.Message}", ex);
        }
    }
}
