using System.Buffers;
using System.Collections.Concurrent;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;

namespace Omnivec.Text;

/// <summary>
/// The byte-level BPE of CLIP's reference tokenizer (simple_tokenizer.py's <c>bpe</c> and <c>encode</c>), on token ids:
/// each word of the reference split becomes its UTF-8 bytes' symbols with "&lt;/w&gt;" on the last, then the adjacent pair
/// of lowest merge rank is merged, every occurrence left to right, until no pair has a rank. The two special tokens
/// stand for themselves when the split yields them whole.
/// </summary>
/// <remarks>
/// Built from the vocabulary and the merges in one pass over each (a few milliseconds for CLIP's 49,408 tokens), so a
/// model loads quickly. Immutable apart from its word cache, which is safe for concurrent callers and bounded.
/// </remarks>
internal sealed class ClipBpe
{
    private const string EndOfWordSuffix = "</w>";
    private const int CacheLimit = 20_000;
    private const int StackWord = 128;

    private readonly MergeTable _merges;
    private readonly int[] _byteIds = new int[256];
    private readonly int[] _byteEndIds = new int[256];
    private readonly (string Token, int Id)[] _specials;
    private readonly Regex _split;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    /// <summary>Builds the merge table over <paramref name="vocab"/>.</summary>
    /// <exception cref="InvalidOperationException">A merge whose parts or result are not in the vocabulary.</exception>
    public ClipBpe(Dictionary<string, int> vocab, IReadOnlyList<string> merges, (string Token, int Id)[] specials, Regex split)
    {
        _specials = specials;
        _split = split;
        for (int b = 0; b < 256; b++)
        {
            char symbol = ByteLevel.ToSymbol((byte)b);
            _byteIds[b] = vocab[symbol.ToString()];
            _byteEndIds[b] = vocab[symbol + EndOfWordSuffix];
        }

        _merges = new MergeTable(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            // Plain string lookups: the span-keyed ones are not precompiled, and JIT-compiling them costs more than the strings.
            string merge = merges[rank];
            int space = merge.IndexOf(' ', StringComparison.Ordinal);
            if (!vocab.TryGetValue(merge[..space], out int leftId) || !vocab.TryGetValue(merge[(space + 1)..], out int rightId)
                || !vocab.TryGetValue(string.Concat(merge.AsSpan(0, space), merge.AsSpan(space + 1)), out int mergedId))
            {
                throw new InvalidOperationException($"merge {rank + 1} ('{merge}') names a token that is not in the vocabulary.");
            }

            // Python's dict(zip(merges, range(...))): a pair listed twice keeps its last rank.
            _merges.Set(Key(leftId, rightId), rank, mergedId);
        }
    }

    /// <summary>
    /// Appends the BPE ids of the already normalized <paramref name="text"/> to <paramref name="ids"/>, stopping after the
    /// word that brings their number to <paramref name="maxCount"/> or more (the ids up to there are those of the whole text).
    /// </summary>
    public void Encode(string text, List<int> ids, int maxCount = int.MaxValue)
    {
        foreach (ValueMatch match in _split.EnumerateMatches(text))
        {
            if (ids.Count >= maxCount)
            {
                return;
            }

            ReadOnlySpan<char> word = text.AsSpan(match.Index, match.Length);
            if (Special(word) is int special)
            {
                ids.Add(special);
                continue;
            }

            ids.AddRange(EncodeWord(word));
        }
    }

    /// <summary>How many BPE ids <paramref name="text"/> (normalized) gives.</summary>
    public int Count(string text)
    {
        int count = 0;
        foreach (ValueMatch match in _split.EnumerateMatches(text))
        {
            ReadOnlySpan<char> word = text.AsSpan(match.Index, match.Length);
            count += Special(word) is null ? EncodeWord(word).Length : 1;
        }

        return count;
    }

    private int? Special(ReadOnlySpan<char> word)
    {
        foreach ((string token, int id) in _specials)
        {
            if (word.SequenceEqual(token))
            {
                return id;
            }
        }

        return null;
    }

    private int[] EncodeWord(ReadOnlySpan<char> word)
    {
        string key = word.ToString();
        if (_cache.TryGetValue(key, out int[]? cached))
        {
            return cached;
        }

        int byteCount = Encoding.UTF8.GetByteCount(word);
        byte[]? rentedBytes = null;
        int[]? rentedIds = null;
        Span<byte> bytes = byteCount <= StackWord ? stackalloc byte[StackWord] : (rentedBytes = ArrayPool<byte>.Shared.Rent(byteCount));
        Span<int> symbols = byteCount <= StackWord ? stackalloc int[StackWord] : (rentedIds = ArrayPool<int>.Shared.Rent(byteCount));
        try
        {
            bytes = bytes[..Encoding.UTF8.GetBytes(word, bytes)];
            symbols = symbols[..bytes.Length];
            for (int i = 0; i < bytes.Length; i++)
            {
                symbols[i] = i == bytes.Length - 1 ? _byteEndIds[bytes[i]] : _byteIds[bytes[i]];
            }

            int length = Merge(symbols);
            int[] result = symbols[..length].ToArray();
            if (_cache.Count < CacheLimit)
            {
                _cache.TryAdd(key, result);
            }

            return result;
        }
        finally
        {
            if (rentedBytes is not null)
            {
                ArrayPool<byte>.Shared.Return(rentedBytes);
            }

            if (rentedIds is not null)
            {
                ArrayPool<int>.Shared.Return(rentedIds);
            }
        }
    }

    /// <summary>The reference's merge loop on ids, in place; returns the number of symbols left.</summary>
    private int Merge(Span<int> word)
    {
        int length = word.Length;
        while (length > 1)
        {
            // The adjacent pair of lowest rank (the first such pair when none has a rank: then nothing merges).
            int bestRank = int.MaxValue;
            long bestPair = 0;
            int bestId = 0;
            for (int i = 0; i < length - 1; i++)
            {
                long pair = Key(word[i], word[i + 1]);
                if (_merges.TryGet(pair, out int rank, out int id) && rank < bestRank)
                {
                    bestRank = rank;
                    bestPair = pair;
                    bestId = id;
                }
            }

            if (bestRank == int.MaxValue)
            {
                break;
            }

            // Every occurrence of that pair, left to right, without overlaps.
            int first = (int)(bestPair >> 32), second = (int)bestPair;
            int written = 0;
            for (int i = 0; i < length; i++)
            {
                if (i < length - 1 && word[i] == first && word[i + 1] == second)
                {
                    word[written++] = bestId;
                    i++;
                }
                else
                {
                    word[written++] = word[i];
                }
            }

            length = written;
        }

        return length;
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>
    /// Pair of ids → (rank, merged id), open addressing over plain arrays: code of this assembly, so it is precompiled
    /// with it (a Dictionary over a value tuple is compiled at first use, which costs more than filling it).
    /// </summary>
    private sealed class MergeTable
    {
        private readonly long[] _keys;
        private readonly int[] _ranks;
        private readonly int[] _ids;
        private readonly int _mask;

        public MergeTable(int count)
        {
            int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, count * 2));
            _keys = new long[capacity];
            _ranks = new int[capacity];
            _ids = new int[capacity];
            _mask = capacity - 1;
            Array.Fill(_ranks, -1);
        }

        public void Set(long key, int rank, int id)
        {
            int slot = Slot(key);
            while (_ranks[slot] >= 0 && _keys[slot] != key)
            {
                slot = (slot + 1) & _mask;
            }

            _keys[slot] = key;
            _ranks[slot] = rank;
            _ids[slot] = id;
        }

        public bool TryGet(long key, out int rank, out int id)
        {
            for (int slot = Slot(key); _ranks[slot] >= 0; slot = (slot + 1) & _mask)
            {
                if (_keys[slot] == key)
                {
                    rank = _ranks[slot];
                    id = _ids[slot];
                    return true;
                }
            }

            rank = id = 0;
            return false;
        }

        private int Slot(long key) => (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15)) >> 32) & _mask;
    }
}
