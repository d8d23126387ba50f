using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Omnivec.Text;

/// <summary>The text rules a SentencePiece-based model family applies around the SentencePiece model itself.</summary>
public enum SentencePieceScheme
{
    /// <summary>
    /// SigLIP (transformers' SiglipTokenizer): lower-cased (when <c>do_lower_case</c>, the default), ASCII punctuation
    /// removed, whitespace collapsed and trimmed; ids followed by <c>&lt;/s&gt;</c>; padded with the pad token
    /// (<c>&lt;/s&gt;</c> in the released packs) to <c>model_max_length</c> (64).
    /// </summary>
    Siglip,

    /// <summary>
    /// XLM-RoBERTa (M-CLIP): whitespace collapsed (Immich's clean-up); <c>&lt;s&gt;</c> ids <c>&lt;/s&gt;</c> with the
    /// fairseq ids (<c>&lt;s&gt;</c>=0, <c>&lt;pad&gt;</c>=1, <c>&lt;/s&gt;</c>=2, <c>&lt;unk&gt;</c>=3, every other
    /// SentencePiece id + 1); padded with 1.
    /// </summary>
    XlmRoberta,

    /// <summary>
    /// SigLIP 2 (Gemma's tokenizer: byte-fallback BPE, <c>&lt;pad&gt;</c>=0, <c>&lt;eos&gt;</c>=1): lower-cased as the
    /// model was trained (Python's <c>str.lower</c>; punctuation and whitespace kept, as Gemma's identity normaliser
    /// keeps them); ids followed by <c>&lt;eos&gt;</c>, no <c>&lt;bos&gt;</c>; padded with the pad token to 64.
    /// </summary>
    Gemma,

    /// <summary>
    /// NLLB-200 (NLLB-CLIP, transformers' NllbTokenizer with <c>src_lang</c> set): whitespace collapsed (OpenCLIP's
    /// clean-up); the language code token, the ids with the fairseq offset of <see cref="XlmRoberta"/>, <c>&lt;/s&gt;</c>;
    /// padded with 1. The language is the FLORES-200 code the text begins with, else the pack's default (see <see cref="TextLanguages"/>).
    /// </summary>
    Nllb,
}

/// <summary>
/// A SentencePiece tokenizer (Unigram or BPE model file, normalisation from the model's precompiled charsmap) run by
/// Microsoft.ML.Tokenizers' <see cref="SentencePieceTokenizer"/> (Unigram) or by Omnivec's port of SentencePiece's BPE
/// merge order (BPE without a charsmap, as Gemma's), with a model family's rules around it (see
/// <see cref="SentencePieceScheme"/>). Immutable and safe for concurrent callers.
/// </summary>
/// <remarks>
/// Special-token strings typed inside the text (e.g. "&lt;/s&gt;") are tokenized as text; the Python tokenizers would
/// split them out as special tokens.
/// </remarks>
public sealed class SentencePieceTextTokenizer : ITextTokenizer
{
    /// <summary>The SentencePiece model file names packs use, in the order they are tried.</summary>
    public static readonly IReadOnlyList<string> ModelFileNames = ["spiece.model", "sentencepiece.bpe.model", "tokenizer.model"];

    private const int XlmrBos = 0, XlmrPad = 1, XlmrEos = 2, XlmrUnk = 3;

    private readonly SentencePieceTokenizer _sp;
    private readonly SentencePieceBpe? _bpe;
    private readonly bool _lowerCase;
    private readonly int _eosId;

    private readonly IReadOnlyDictionary<string, int>? _languageIds;

    // fairseq's shift of SentencePiece ids (XLM-R, NLLB): 1 for a SentencePiece model file; 0 for a vocabulary read
    // from tokenizer.json, which already lists the pieces in fairseq's order.
    private readonly int _fairseqOffset = 1;

    private SentencePieceTextTokenizer(SentencePieceTokenizer sp, SentencePieceBpe? bpe, SentencePieceScheme scheme, int contextLength, int padId, int eosId, bool lowerCase,
        TextLanguages? languages = null, IReadOnlyDictionary<string, int>? languageIds = null, int fairseqOffset = 1)
    {
        _fairseqOffset = fairseqOffset;
        Languages = languages;
        _languageIds = languageIds;
        _sp = sp;
        _bpe = bpe;
        Scheme = scheme;
        ContextLength = contextLength;
        PadTokenId = padId;
        _eosId = eosId;
        _lowerCase = lowerCase;
    }

    /// <summary>The languages the text may be given in (NLLB: FLORES-200 codes); null when the model takes none.</summary>
    public TextLanguages? Languages { get; }

    /// <summary>The family rules applied around the SentencePiece model.</summary>
    public SentencePieceScheme Scheme { get; }

    /// <inheritdoc />
    public int ContextLength { get; }

    /// <inheritdoc />
    public int PadTokenId { get; }

    /// <summary>
    /// Loads the SentencePiece model (<see cref="ModelFileNames"/>, else a Unigram model from tokenizer.json) and
    /// tokenizer_config.json from <paramref name="directory"/>. <paramref name="contextLength"/> overrides
    /// tokenizer_config.json's model_max_length (Immich packs set it in config.json). A <see cref="SentencePieceScheme.Siglip"/>
    /// pack whose tokenizer_config.json names Gemma's tokenizer (<c>GemmaTokenizer</c>, <c>Siglip2Tokenizer</c>: SigLIP 2)
    /// gets the <see cref="SentencePieceScheme.Gemma"/> rules.
    /// </summary>
    /// <exception cref="ModelConfigurationException">No model file, an unreadable or malformed one, or a vocabulary without the tokens the scheme needs.</exception>
    public static SentencePieceTextTokenizer FromDirectory(string directory, SentencePieceScheme scheme, int? contextLength = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string? modelPath = ModelFileNames.Select(n => Path.Combine(directory, n)).FirstOrDefault(File.Exists);
        string tokenizerJson = Path.Combine(directory, "tokenizer.json");
        bool fromJson = modelPath is null && File.Exists(tokenizerJson);
        if (modelPath is null && !fromJson)
        {
            throw new ModelConfigurationException(
                $"No SentencePiece tokenizer in '{directory}': looked for {string.Join(", ", ModelFileNames)} and tokenizer.json.");
        }

        JsonElement config = ReadConfig(Path.Combine(directory, "tokenizer_config.json"));
        if (scheme == SentencePieceScheme.Siglip && config.ValueKind == JsonValueKind.Object && config.TryGetProperty("tokenizer_class", out JsonElement c)
            && c.ValueKind == JsonValueKind.String && c.GetString() is "GemmaTokenizer" or "GemmaTokenizerFast" or "Siglip2Tokenizer" or "Siglip2TokenizerFast")
        {
            scheme = SentencePieceScheme.Gemma;
        }

        SentencePieceTokenizer sp;
        SentencePieceBpe? bpe;
        try
        {
            byte[] bytes;
            if (fromJson)
            {
                modelPath = tokenizerJson;
                bytes = TokenizerJsonModel.ToSentencePiece(tokenizerJson);
            }
            else
            {
                var info = new FileInfo(modelPath!);
                if (info.Length > 64L << 20)
                {
                    throw new ModelConfigurationException($"{modelPath}: {info.Length:N0} bytes is too large for a SentencePiece model.");
                }

                bytes = File.ReadAllBytes(modelPath!);
            }

            bytes = WithValidBosId(bytes);
            using var stream = new MemoryStream(bytes);
            sp = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);

            // BPE models (Gemma's) are encoded by SentencePiece's own merge order; see SentencePieceBpe for why.
            bpe = SentencePieceBpe.TryCreate(bytes);
        }
        catch (Exception ex) when (ex is not OmnivecException and not OutOfMemoryException)
        {
            throw new ModelConfigurationException($"{modelPath}: not a SentencePiece model Omnivec can read: {ex.Message}", ex);
        }

        int context = contextLength ?? (config.ValueKind == JsonValueKind.Object && config.TryGetProperty("model_max_length", out JsonElement m)
            && m.TryGetDouble(out double max) && max is >= 4 and <= 65536 ? (int)max : scheme is SentencePieceScheme.Siglip or SentencePieceScheme.Gemma ? 64 : 512);
        if (context is < 4 or > 65536)
        {
            throw new ModelConfigurationException($"{directory}: context length {context} is out of range.");
        }

        if (scheme == SentencePieceScheme.Siglip)
        {
            bool lower = !(config.ValueKind == JsonValueKind.Object && config.TryGetProperty("do_lower_case", out JsonElement l) && l.ValueKind == JsonValueKind.False);
            int eos = PieceId(sp, TokenName(config, "eos_token") ?? "</s>", modelPath!);
            int pad = PieceId(sp, TokenName(config, "pad_token") ?? "</s>", modelPath!);
            return new SentencePieceTextTokenizer(sp, bpe, scheme, context, pad, eos, lower);
        }

        if (scheme == SentencePieceScheme.Gemma)
        {
            // SigLIP 2 was trained on lower-cased text; Gemma's tokenizer itself does not lower-case, so the family does.
            int eos = PieceId(sp, TokenName(config, "eos_token") ?? "<eos>", modelPath!);
            int pad = PieceId(sp, TokenName(config, "pad_token") ?? "<pad>", modelPath!);
            return new SentencePieceTextTokenizer(sp, bpe, scheme, context, pad, eos, lowerCase: true);
        }

        if (scheme == SentencePieceScheme.Nllb)
        {
            (TextLanguages languages, Dictionary<string, int> ids) = NllbLanguages.Read(directory, config, sp.Vocabulary.Count);
            return new SentencePieceTextTokenizer(sp, bpe, scheme, context, XlmrPad, XlmrEos, lowerCase: false, languages, ids, fromJson ? 0 : 1);
        }

        return new SentencePieceTextTokenizer(sp, bpe, scheme, context, XlmrPad, XlmrEos, lowerCase: false, fairseqOffset: fromJson ? 0 : 1);
    }

    /// <inheritdoc />
    public int Encode(ReadOnlySpan<char> text, Span<long> destination)
    {
        if (destination.Length < ContextLength)
        {
            throw new ArgumentException($"Destination holds {destination.Length} ids; {ContextLength} are needed.", nameof(destination));
        }

        int n = 0;
        if (Scheme == SentencePieceScheme.Nllb)
        {
            (string code, int start) = Languages!.Split(text);
            List<int> words = Pieces(text[start..]);
            destination[n++] = _languageIds![code];
            int count = Math.Min(words.Count, ContextLength - 2);
            int unknown = _sp.UnknownId;
            for (int i = 0; i < count; i++)
            {
                destination[n++] = words[i] == unknown ? XlmrUnk : words[i] + _fairseqOffset;
            }

            destination[n++] = XlmrEos;
            destination[n..ContextLength].Fill(PadTokenId);
            return n;
        }

        List<int> pieces = Pieces(text);
        if (Scheme is SentencePieceScheme.Siglip or SentencePieceScheme.Gemma)
        {
            int take = Math.Min(pieces.Count, ContextLength - 1);
            for (int i = 0; i < take; i++)
            {
                destination[n++] = pieces[i];
            }

            destination[n++] = _eosId;
        }
        else
        {
            destination[n++] = XlmrBos;
            int take = Math.Min(pieces.Count, ContextLength - 2);
            int unk = _sp.UnknownId;
            for (int i = 0; i < take; i++)
            {
                destination[n++] = pieces[i] == unk ? XlmrUnk : pieces[i] + _fairseqOffset;
            }

            destination[n++] = XlmrEos;
        }

        destination[n..ContextLength].Fill(PadTokenId);
        return n;
    }

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        long[] ids = new long[ContextLength];
        Encode(text, ids);
        return Array.ConvertAll(ids, id => (int)id);
    }

    /// <inheritdoc />
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Scheme == SentencePieceScheme.Nllb)
        {
            return Pieces(text.AsSpan(Languages!.Split(text).Start)).Count + 2;
        }

        return Pieces(text).Count + (Scheme is SentencePieceScheme.Siglip or SentencePieceScheme.Gemma ? 1 : 2);
    }

    /// <summary>
    /// SentencePiece ids of the cleaned text. SentencePiece itself merges a run of unknown characters into one
    /// &lt;unk&gt; piece; Microsoft.ML.Tokenizers 2.0.1 emits one per character, so runs are merged here.
    /// </summary>
    private List<int> Pieces(ReadOnlySpan<char> text)
    {
        string clean = Clean(text);
        IReadOnlyList<int> raw = _bpe is not null ? _bpe.Encode(clean) : _sp.EncodeToIds(clean);
        int unk = _sp.UnknownId;
        var pieces = new List<int>(raw.Count);
        foreach (int id in raw)
        {
            if (id == unk && pieces.Count > 0 && pieces[^1] == unk)
            {
                continue;
            }

            pieces.Add(id);
        }

        return pieces;
    }

    /// <summary>The text the SentencePiece model sees (before its own charsmap normalisation).</summary>
    internal string Clean(ReadOnlySpan<char> text)
    {
        var sb = new StringBuilder(text.Length);
        if (Scheme == SentencePieceScheme.Gemma)
        {
            // Gemma keeps every character, whitespace runs included (identity normaliser, no extra-whitespace removal).
            for (int i = 0; i < text.Length; i++)
            {
                AppendLower(sb, text, i);
            }

            return sb.ToString();
        }

        bool pendingSpace = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (IsPythonSpace(c))
            {
                pendingSpace = sb.Length > 0;
                continue;
            }

            if (Scheme == SentencePieceScheme.Siglip && c < 128 && IsAsciiPunctuation(c))
            {
                continue; // removed before the whitespace is collapsed, as canonicalize_text does
            }

            if (pendingSpace)
            {
                sb.Append(' ');
                pendingSpace = false;
            }

            if (_lowerCase)
            {
                AppendLower(sb, text, i);
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>Python's str.lower for one character: simple lower-case mapping plus the two context rules that differ (final sigma, dotted capital I).</summary>
    private static void AppendLower(StringBuilder sb, ReadOnlySpan<char> text, int i)
    {
        char c = text[i];
        if (c == '\u03A3')
        {
            bool after = i > 0 && char.IsLetter(text[i - 1]);
            bool before = i + 1 < text.Length && char.IsLetter(text[i + 1]);
            sb.Append(after && !before ? '\u03C2' : '\u03C3');
            return;
        }

        if (c == '\u0130')
        {
            sb.Append("i\u0307");
            return;
        }

        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            sb.Append(c); // astral letters keep their case (Python would lower the few cased ones, e.g. Deseret)
            return;
        }

        sb.Append(char.ToLowerInvariant(c));
    }

    // Python's str.isspace: .NET's white space plus the ASCII separators U+001C..U+001F.
    private static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    // Python's string.punctuation.
    private static bool IsAsciiPunctuation(char c) => c is (>= '!' and <= '/') or (>= ':' and <= '@') or (>= '[' and <= '`') or (>= '{' and <= '~');

    /// <summary>
    /// Microsoft.ML.Tokenizers 2.0.1 cannot load a Unigram model without a BOS piece (bos_id = -1, as T5 and SigLIP ship:
    /// the constructor indexes the vocabulary with it). Nothing here ever emits BOS, so the model is handed over with
    /// bos_id pointing at the unknown piece instead: an extra bos_id field appended to trainer_spec, which protobuf
    /// readers take over the earlier one. Models that have a BOS piece pass through unchanged.
    /// </summary>
    internal static byte[] WithValidBosId(byte[] model)
    {
        const int TrainerSpec = 2, UnkId = 40, BosId = 41;
        var reader = new ProtoReader(model);
        while (true)
        {
            int fieldStart = reader.Position;
            if (!reader.Next(out int field, out int wire))
            {
                return model;
            }

            if (field != TrainerSpec || wire != 2)
            {
                reader.Skip(wire);
                continue;
            }

            ReadOnlySpan<byte> body = reader.Bytes();
            int bodyEnd = reader.Position;
            long bos = 1, unk = 0; // SentencePiece's defaults
            var spec = new ProtoReader(body);
            while (spec.Next(out int f, out int w))
            {
                if (w == 0 && f is BosId or UnkId)
                {
                    long value = (int)spec.Varint(); // int32 fields carry negative values sign-extended to 64 bits
                    if (f == BosId)
                    {
                        bos = value;
                    }
                    else
                    {
                        unk = value;
                    }
                }
                else
                {
                    spec.Skip(w);
                }
            }

            if (bos >= 0)
            {
                return model;
            }

            var extra = new List<byte>();
            WriteVarint(extra, (BosId << 3) | 0);
            WriteVarint(extra, (ulong)unk);
            var result = new List<byte>(model.Length + 16);
            result.AddRange(model.AsSpan(0, fieldStart));
            WriteVarint(result, (TrainerSpec << 3) | 2);
            WriteVarint(result, (ulong)(body.Length + extra.Count));
            result.AddRange(body);
            result.AddRange(extra);
            result.AddRange(model.AsSpan(bodyEnd));
            return result.ToArray();
        }
    }

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }

    private static int PieceId(SentencePieceTokenizer sp, string piece, string path)
    {
        IReadOnlyDictionary<string, int> vocab = sp.Vocabulary;
        return vocab.TryGetValue(piece, out int id)
            ? id
            : throw new ModelConfigurationException($"{path}: the vocabulary has no '{piece}' token.");
    }

    private static string? TokenName(JsonElement config, string key)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty(key, out JsonElement v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out JsonElement c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => null,
        };
    }

    private static JsonElement ReadConfig(string path)
    {
        if (!File.Exists(path))
        {
            return default;
        }

        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new ModelConfigurationException($"{path} is not valid JSON: {ex.Message}", ex);
        }
    }
}
