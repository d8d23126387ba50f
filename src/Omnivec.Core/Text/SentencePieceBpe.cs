using System.Globalization;
using System.Text;

namespace Omnivec.Text;

/// <summary>
/// SentencePiece's BPE encoder (bpe_model.cc) for models without a precompiled normalisation map, as Gemma's tokenizer
/// (SigLIP 2) is built: the normaliser's three switches (extra-whitespace removal, dummy prefix, whitespace escaped as
/// U+2581), user-defined pieces matched whole, then pairs merged best score first — on equal scores the LEFTMOST pair,
/// as SentencePiece's agenda orders them — and characters outside the vocabulary spelled as &lt;0xXX&gt; byte pieces when
/// the model has byte fallback (else &lt;unk&gt;).
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers 2.0.1 merges equal-score pairs rightmost first, so runs such as three spaces ("▁▁▁" with
/// "▁▁" in the vocabulary) come out as "▁" + "▁▁" where SentencePiece gives "▁▁" + "▁"; Gemma's vocabulary has whitespace
/// runs and many equal scores. Unigram models stay on Microsoft.ML.Tokenizers, which matches SentencePiece for them.
/// </remarks>
internal sealed class SentencePieceBpe
{
    private const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6;

    private readonly Dictionary<string, (int Id, float Score, int Type)> _pieces;
    private readonly string[] _userDefined; // longest first
    private readonly int[] _byteIds = new int[256];
    private readonly bool _byteFallback, _addDummyPrefix, _removeExtraWhitespaces, _escapeWhitespaces;

    private SentencePieceBpe(Dictionary<string, (int Id, float Score, int Type)> pieces, int unkId, bool byteFallback, bool addDummyPrefix, bool removeExtra, bool escape)
    {
        _pieces = pieces;
        UnknownId = unkId;
        _byteFallback = byteFallback;
        _addDummyPrefix = addDummyPrefix;
        _removeExtraWhitespaces = removeExtra;
        _escapeWhitespaces = escape;
        _userDefined = [.. pieces.Where(p => p.Value.Type == UserDefined).Select(p => p.Key).OrderByDescending(p => p.Length)];
        Array.Fill(_byteIds, -1);
        foreach ((string piece, (int id, float _, int type)) in pieces)
        {
            if (type == Byte && piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal)
                && byte.TryParse(piece.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte b))
            {
                _byteIds[b] = id;
            }
        }
    }

    /// <summary>The id of &lt;unk&gt;.</summary>
    public int UnknownId { get; }

    /// <summary>
    /// The encoder for <paramref name="model"/> (a serialized ModelProto) when it is a BPE model without a precompiled
    /// normalisation map; null for any other model (Unigram, or BPE with a charsmap), which Microsoft.ML.Tokenizers runs.
    /// </summary>
    public static SentencePieceBpe? TryCreate(ReadOnlySpan<byte> model)
    {
        var pieces = new Dictionary<string, (int Id, float Score, int Type)>(StringComparer.Ordinal);
        int modelType = 1, unkId = 0, index = 0;
        bool byteFallback = false, addDummyPrefix = true, removeExtra = true, escape = true, charsmap = false;
        var reader = new ProtoReader(model);
        while (reader.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (1, 2): // pieces
                    var p = new ProtoReader(reader.Bytes());
                    string piece = "";
                    float score = 0;
                    int type = Normal;
                    while (p.Next(out int f, out int w))
                    {
                        switch (f, w)
                        {
                            case (1, 2): piece = Encoding.UTF8.GetString(p.Bytes()); break;
                            case (2, 5): score = p.Float(); break;
                            case (3, 0): type = (int)p.Varint(); break;
                            default: p.Skip(w); break;
                        }
                    }

                    pieces.TryAdd(piece, (index++, score, type));
                    break;
                case (2, 2): // trainer_spec
                    var t = new ProtoReader(reader.Bytes());
                    while (t.Next(out int f, out int w))
                    {
                        switch (f, w)
                        {
                            case (3, 0): modelType = (int)t.Varint(); break;
                            case (35, 0): byteFallback = t.Varint() != 0; break;
                            case (40, 0): unkId = (int)t.Varint(); break;
                            default: t.Skip(w); break;
                        }
                    }

                    break;
                case (3, 2): // normalizer_spec
                    var n = new ProtoReader(reader.Bytes());
                    while (n.Next(out int f, out int w))
                    {
                        switch (f, w)
                        {
                            case (2, 2): charsmap = n.Bytes().Length > 0; break;
                            case (3, 0): addDummyPrefix = n.Varint() != 0; break;
                            case (4, 0): removeExtra = n.Varint() != 0; break;
                            case (5, 0): escape = n.Varint() != 0; break;
                            default: n.Skip(w); break;
                        }
                    }

                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        const int Bpe = 2;
        return modelType == Bpe && !charsmap && pieces.Count > 0
            ? new SentencePieceBpe(pieces, unkId, byteFallback, addDummyPrefix, removeExtra, escape)
            : null;
    }

    /// <summary>The ids of <paramref name="text"/> (no BOS/EOS).</summary>
    public List<int> Encode(string text)
    {
        string normalized = Normalize(text);
        var symbols = Split(normalized);
        var ids = new List<int>(symbols.Count);
        if (symbols.Count == 0)
        {
            return ids;
        }

        // Doubly linked symbols; the agenda holds candidate pairs, best score first, then leftmost.
        int count = symbols.Count;
        int[] prev = new int[count], next = new int[count];
        string?[] piece = [.. symbols];
        for (int i = 0; i < count; i++)
        {
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }

        var agenda = new PriorityQueue<(int Left, int Right, string Merged), (float, int)>(Comparer<(float Score, int Left)>.Create(
            (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));
        void Consider(int left, int right)
        {
            if (left < 0 || right < 0 || piece[left] is null || piece[right] is null)
            {
                return;
            }

            string merged = piece[left] + piece[right];
            if (_pieces.TryGetValue(merged, out var entry) && entry.Type is Normal or UserDefined)
            {
                agenda.Enqueue((left, right, merged), (entry.Type == UserDefined ? 0f : entry.Score, left));
            }
        }

        for (int i = 0; i + 1 < count; i++)
        {
            Consider(i, i + 1);
        }

        while (agenda.TryDequeue(out var pair, out _))
        {
            // Stale when either side has changed since the pair was queued.
            if (piece[pair.Left] is null || piece[pair.Right] is null || next[pair.Left] != pair.Right
                || piece[pair.Left]!.Length + piece[pair.Right]!.Length != pair.Merged.Length)
            {
                continue;
            }

            piece[pair.Left] = pair.Merged;
            piece[pair.Right] = null;
            next[pair.Left] = next[pair.Right];
            if (next[pair.Right] >= 0)
            {
                prev[next[pair.Right]] = pair.Left;
            }

            Consider(prev[pair.Left], pair.Left);
            Consider(pair.Left, next[pair.Left]);
        }

        for (int i = 0; i >= 0; i = next[i])
        {
            string s = piece[i]!;
            if (_pieces.TryGetValue(s, out var entry) && entry.Type is not Unused and not Byte)
            {
                ids.Add(entry.Id);
            }
            else if (_byteFallback)
            {
                foreach (byte b in Encoding.UTF8.GetBytes(s))
                {
                    ids.Add(_byteIds[b] >= 0 ? _byteIds[b] : UnknownId);
                }
            }
            else
            {
                ids.Add(UnknownId);
            }
        }

        return ids;
    }

    private string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length + 1);
        if (_removeExtraWhitespaces)
        {
            foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (sb.Length > 0)
                {
                    sb.Append(' ');
                }

                sb.Append(word);
            }
        }
        else
        {
            sb.Append(text);
        }

        if (_addDummyPrefix && sb.Length > 0)
        {
            sb.Insert(0, ' ');
        }

        return _escapeWhitespaces ? sb.Replace(' ', '\u2581').ToString() : sb.ToString();
    }

    /// <summary>User-defined pieces whole (longest match), everything else one Unicode character per symbol.</summary>
    private List<string> Split(string text)
    {
        var symbols = new List<string>(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            string? user = null;
            foreach (string candidate in _userDefined)
            {
                if (string.CompareOrdinal(text, i, candidate, 0, candidate.Length) == 0 && i + candidate.Length <= text.Length)
                {
                    user = candidate;
                    break;
                }
            }

            int length = user?.Length ?? (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1);
            symbols.Add(text.Substring(i, length));
            i += length;
        }

        return symbols;
    }
}
