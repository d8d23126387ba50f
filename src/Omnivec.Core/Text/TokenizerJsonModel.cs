using System.Text;
using System.Text.Json;

namespace Omnivec.Text;

/// <summary>
/// A SentencePiece model file (ModelProto) rebuilt from a Hugging Face tokenizer.json whose model is Unigram, for packs
/// that ship only tokenizer.json: the pieces and scores in tokenizer.json's id order, special tokens as control pieces,
/// the precompiled charsmap of its Precompiled normaliser, <c>add_dummy_prefix</c> from its Metaspace pre-tokenizer and
/// <c>remove_extra_whitespaces</c> from its <c>" {2,}"</c> replacement (what transformers' SpmConverter wrote them from).
/// </summary>
internal static class TokenizerJsonModel
{
    private const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Byte = 6;

    /// <summary>The model file bytes and whether the ids are the file's own (true) or shifted pieces of another order.</summary>
    /// <exception cref="ModelConfigurationException">Not valid JSON, not a Unigram model, or no usable vocabulary.</exception>
    public static byte[] ToSentencePiece(string path)
    {
        JsonDocument doc;
        try
        {
            var info = new FileInfo(path);
            if (info.Length > 256L << 20)
            {
                throw new ModelConfigurationException($"{path}: {info.Length:N0} bytes is too large for a tokenizer.");
            }

            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException ex)
        {
            throw new ModelConfigurationException($"{path} is not valid JSON: {ex.Message}", ex);
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object)
            {
                throw new ModelConfigurationException($"{path}: no \"model\" object.");
            }

            string type = model.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
            if (type != "Unigram")
            {
                throw new ModelConfigurationException(
                    $"{path}: a {(type.Length == 0 ? "model of unknown type" : type + " model")}; Omnivec reads SentencePiece-style tokenizers from tokenizer.json only when they are Unigram " +
                    "(ship the SentencePiece model file, e.g. tokenizer.model, for BPE ones).");
            }

            if (!model.TryGetProperty("vocab", out JsonElement vocab) || vocab.ValueKind != JsonValueKind.Array || vocab.GetArrayLength() == 0)
            {
                throw new ModelConfigurationException($"{path}: the Unigram model has no vocabulary.");
            }

            int unkId = model.TryGetProperty("unk_id", out JsonElement u) && u.TryGetInt32(out int unk) ? unk : -1;
            bool byteFallback = model.TryGetProperty("byte_fallback", out JsonElement bf) && bf.ValueKind == JsonValueKind.True;
            var special = new HashSet<int>();
            var userDefined = new HashSet<int>();
            if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement token in added.EnumerateArray())
                {
                    if (token.ValueKind == JsonValueKind.Object && token.TryGetProperty("id", out JsonElement id) && id.TryGetInt32(out int value))
                    {
                        (token.TryGetProperty("special", out JsonElement s) && s.ValueKind == JsonValueKind.False ? userDefined : special).Add(value);
                    }
                }
            }

            var pieces = new List<(string Piece, float Score, int Type)>(vocab.GetArrayLength());
            var ids = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (JsonElement entry in vocab.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2 || entry[0].ValueKind != JsonValueKind.String
                    || !entry[1].TryGetDouble(out double score))
                {
                    throw new ModelConfigurationException($"{path}: vocabulary entry {pieces.Count} is not [piece, score].");
                }

                int i = pieces.Count;
                string piece = entry[0].GetString()!;
                int kind = i == unkId ? Unknown
                    : special.Contains(i) ? Control
                    : userDefined.Contains(i) ? UserDefined
                    : byteFallback && piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece.EndsWith('>') ? Byte
                    : Normal;
                pieces.Add((piece, (float)score, kind));
                ids.TryAdd(piece, i);
            }

            if (unkId < 0 || unkId >= pieces.Count)
            {
                throw new ModelConfigurationException($"{path}: the Unigram model's unk_id is missing or out of range.");
            }

            (byte[] charsmap, bool extraWhitespace) = Normalizer(root);
            bool dummyPrefix = DummyPrefix(root);
            int bos = ids.TryGetValue("<s>", out int b) ? b : ids.TryGetValue("<bos>", out b) ? b : unkId;
            int eos = ids.TryGetValue("</s>", out int e) ? e : ids.TryGetValue("<eos>", out e) ? e : unkId;
            int pad = ids.TryGetValue("<pad>", out int p) ? p : -1;
            return Write(pieces, unkId, bos, eos, pad, byteFallback, charsmap, dummyPrefix, extraWhitespace);
        }
    }

    private static (byte[] Charsmap, bool ExtraWhitespace) Normalizer(JsonElement root)
    {
        byte[] charsmap = [];
        bool extra = false;
        if (!root.TryGetProperty("normalizer", out JsonElement normalizer) || normalizer.ValueKind != JsonValueKind.Object)
        {
            return (charsmap, extra);
        }

        IEnumerable<JsonElement> steps = normalizer.TryGetProperty("normalizers", out JsonElement list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().ToArray()
            : [normalizer];
        foreach (JsonElement step in steps)
        {
            string? type = step.TryGetProperty("type", out JsonElement t) ? t.GetString() : null;
            if (type == "Precompiled" && step.TryGetProperty("precompiled_charsmap", out JsonElement map) && map.ValueKind == JsonValueKind.String)
            {
                try
                {
                    charsmap = Convert.FromBase64String(map.GetString()!);
                }
                catch (FormatException ex)
                {
                    throw new ModelConfigurationException($"tokenizer.json: the precompiled charsmap is not base64: {ex.Message}", ex);
                }
            }
            else if (type == "Replace" && step.TryGetProperty("pattern", out JsonElement pattern) && pattern.ValueKind == JsonValueKind.Object
                && pattern.TryGetProperty("Regex", out JsonElement regex) && regex.GetString() == " {2,}")
            {
                extra = true;
            }
        }

        return (charsmap, extra);
    }

    private static bool DummyPrefix(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out JsonElement pre) || pre.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        IEnumerable<JsonElement> steps = pre.TryGetProperty("pretokenizers", out JsonElement list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().ToArray()
            : [pre];
        foreach (JsonElement step in steps)
        {
            if (step.TryGetProperty("type", out JsonElement t) && t.GetString() == "Metaspace")
            {
                if (step.TryGetProperty("prepend_scheme", out JsonElement scheme) && scheme.ValueKind == JsonValueKind.String)
                {
                    return scheme.GetString() is "always" or "first";
                }

                return !step.TryGetProperty("add_prefix_space", out JsonElement add) || add.ValueKind != JsonValueKind.False;
            }
        }

        return false;
    }

    private static byte[] Write(List<(string Piece, float Score, int Type)> pieces, int unk, int bos, int eos, int pad, bool byteFallback,
        byte[] charsmap, bool dummyPrefix, bool extraWhitespace)
    {
        var output = new List<byte>(pieces.Count * 16 + charsmap.Length + 64);
        var message = new List<byte>(64);
        foreach ((string piece, float score, int type) in pieces)
        {
            message.Clear();
            Bytes(message, 1, Encoding.UTF8.GetBytes(piece));
            Tag(message, 2, 5);
            message.AddRange(BitConverter.GetBytes(score)); // little-endian fixed32
            Varint(message, 3, (ulong)type);
            Bytes(output, 1, message.ToArray());
        }

        message.Clear();
        Varint(message, 3, 1); // model_type UNIGRAM
        Varint(message, 35, byteFallback ? 1UL : 0UL);
        Varint(message, 40, (ulong)(long)unk);
        Varint(message, 41, (ulong)(long)bos);
        Varint(message, 42, (ulong)(long)eos);
        Varint(message, 43, (ulong)(long)pad);
        Bytes(output, 2, message.ToArray());

        message.Clear();
        Bytes(message, 1, Encoding.UTF8.GetBytes(charsmap.Length > 0 ? "nmt_nfkc" : "identity"));
        if (charsmap.Length > 0)
        {
            Bytes(message, 2, charsmap);
        }

        Varint(message, 3, dummyPrefix ? 1UL : 0UL);
        Varint(message, 4, extraWhitespace ? 1UL : 0UL);
        Varint(message, 5, 1); // escape_whitespaces
        Bytes(output, 3, message.ToArray());
        return output.ToArray();
    }

    private static void Tag(List<byte> output, int field, int wire) => Raw(output, (ulong)((field << 3) | wire));

    private static void Varint(List<byte> output, int field, ulong value)
    {
        Tag(output, field, 0);
        Raw(output, value);
    }

    private static void Bytes(List<byte> output, int field, byte[] value)
    {
        Tag(output, field, 2);
        Raw(output, (ulong)value.Length);
        output.AddRange(value);
    }

    private static void Raw(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }
}
