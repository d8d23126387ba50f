using System.Globalization;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Omnivec.Text;

/// <summary>
/// CLIP's text tokenizer, id for id with OpenAI's reference (simple_tokenizer.py + clip.tokenize): byte-level BPE over
/// the reference's clean-up and split pattern, start and end tokens, truncation that keeps the end token, padding.
/// </summary>
/// <remarks>
/// Immutable and safe for concurrent callers. The clean-up is <see cref="ClipTextNormalizer"/>, the split is the
/// reference pattern and the merging is <see cref="ClipBpe"/>, the reference's loop on ids, built in one pass over the
/// vocabulary and the merges so that loading takes milliseconds.
/// </remarks>
public sealed partial class ClipTokenizer : ITextTokenizer
{
    internal const string StartToken = "<|startoftext|>";
    internal const string EndToken = "<|endoftext|>";
    private const string EndOfWordSuffix = "</w>";
    private const int DefaultContextLength = 77;

    // The files a model folder may hold, in the order they are tried.
    private const string VocabFileName = "vocab.json";
    private const string MergesFileName = "merges.txt";
    private const string TokenizerJsonFileName = "tokenizer.json";
    private const string TokenizerConfigFileName = "tokenizer_config.json";

    // Hugging Face writes int(1e30) as model_max_length when a tokenizer sets no limit.
    private const double UnsetModelMaxLength = 1e15;
    private const int MaxContextLength = 65536;

    // The reference pattern with its IGNORECASE spelled out. The text is lowercased before the split, so the flag only
    // shows where Python's regex module folds 'ſ' (U+017F, already lowercase) to 's'; spelling [sſ] keeps that exact
    // without depending on .NET's own case-insensitivity tables.
    private const string SplitPattern = @"<\|[sſ]tartoftext\|>|<\|endoftext\|>|'[sſ]|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

    private readonly ClipBpe _bpe;
    private readonly string?[] _idToToken;

    private ClipTokenizer(ClipBpe bpe, string?[] idToToken, int startTokenId, int endTokenId, int contextLength, int padTokenId)
    {
        _bpe = bpe;
        _idToToken = idToToken;
        StartTokenId = startTokenId;
        EndTokenId = endTokenId;
        ContextLength = contextLength;
        PadTokenId = padTokenId;
    }

    /// <summary>Ids per encoded text, start and end tokens included (77 for CLIP).</summary>
    public int ContextLength { get; }

    /// <summary>Id of &lt;|startoftext|&gt; (49406 for CLIP).</summary>
    public int StartTokenId { get; }

    /// <summary>Id of &lt;|endoftext|&gt; (49407 for CLIP).</summary>
    public int EndTokenId { get; }

    /// <summary>Id written after the end token up to <see cref="ContextLength"/>.</summary>
    public int PadTokenId { get; }

    /// <summary>Token text by id (null for ids the vocabulary skips); tests write model folders from it.</summary>
    internal IReadOnlyList<string?> TokensById => _idToToken;

    /// <summary>Size of the vocabulary (largest id + 1).</summary>
    public int VocabularySize => _idToToken.Length;

    /// <summary>
    /// Loads a model folder: vocab.json + merges.txt, or a Hugging Face tokenizer.json; tokenizer_config.json, when present,
    /// sets <see cref="ContextLength"/> (model_max_length) and <see cref="PadTokenId"/> (pad_token). <paramref name="options"/> wins over both.
    /// </summary>
    /// <exception cref="ModelConfigurationException">No tokenizer files, unreadable or malformed files, or a vocabulary that is not CLIP's kind.</exception>
    public static ClipTokenizer FromDirectory(string directory, ClipTokenizerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new ModelConfigurationException($"Tokenizer folder '{directory}' does not exist.");
        }

        string vocabPath = Path.Combine(directory, VocabFileName);
        string mergesPath = Path.Combine(directory, MergesFileName);
        string tokenizerJsonPath = Path.Combine(directory, TokenizerJsonFileName);
        string configPath = Path.Combine(directory, TokenizerConfigFileName);

        TokenizerConfig config = File.Exists(configPath) ? ReadTokenizerConfig(configPath) : default;

        ModelData data;
        if (File.Exists(vocabPath) && File.Exists(mergesPath))
        {
            using FileStream vocab = OpenRead(vocabPath);
            using FileStream merges = OpenRead(mergesPath);
            data = new ModelData(ReadVocabJson(vocab, VocabFileName), ReadMergesTxt(merges, MergesFileName), Source: directory);
        }
        else if (File.Exists(tokenizerJsonPath))
        {
            using FileStream json = OpenRead(tokenizerJsonPath);
            data = ReadTokenizerJson(json, TokenizerJsonFileName) with { Source = directory };
        }
        else
        {
            throw new ModelConfigurationException(
                $"No tokenizer in '{directory}': looked for {VocabFileName} + {MergesFileName}, or {TokenizerJsonFileName}.");
        }

        return Create(data, config, options);
    }

    /// <summary>Builds the tokenizer from a vocab.json stream (token → id) and a merges.txt stream ("a b" a line, optional #version header).</summary>
    /// <exception cref="ModelConfigurationException">Malformed streams or a vocabulary that is not CLIP's kind.</exception>
    public static ClipTokenizer FromVocabAndMerges(Stream vocabJson, Stream merges, ClipTokenizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vocabJson);
        ArgumentNullException.ThrowIfNull(merges);
        var data = new ModelData(ReadVocabJson(vocabJson, VocabFileName), ReadMergesTxt(merges, MergesFileName), Source: "vocab/merges streams");
        return Create(data, default, options);
    }

    /// <summary>
    /// Builds the tokenizer from OpenAI's bpe_simple_vocab_16e6.txt.gz the way simple_tokenizer.py does: the 256 byte symbols,
    /// the same with "&lt;/w&gt;", the first 48,894 merges, then the start and end tokens (ids 49406 and 49407). Pads with 0.
    /// </summary>
    /// <exception cref="ModelConfigurationException">The file is missing, not gzip, or too short.</exception>
    public static ClipTokenizer FromOpenAIBpeFile(string bpeSimpleVocabGzPath, ClipTokenizerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(bpeSimpleVocabGzPath);
        const int MergeCount = 49152 - 256 - 2;
        string name = Path.GetFileName(bpeSimpleVocabGzPath);

        var merges = new List<string>(MergeCount);
        try
        {
            using FileStream file = OpenRead(bpeSimpleVocabGzPath);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new StreamReader(gzip, Encoding.UTF8);
            _ = reader.ReadLine(); // the "#version" header
            while (merges.Count < MergeCount && reader.ReadLine() is { } line)
            {
                merges.Add(line);
            }
        }
        catch (InvalidDataException ex)
        {
            throw new ModelConfigurationException($"'{name}' is not a gzip file: {ex.Message}", ex);
        }

        if (merges.Count < MergeCount)
        {
            throw new ModelConfigurationException($"'{name}' has {merges.Count} merges; CLIP's BPE file has at least {MergeCount}.");
        }

        var vocab = new Dictionary<string, int>(MergeCount + 514, StringComparer.Ordinal);
        ReadOnlySpan<char> byteSymbols = ByteLevel.SymbolsInOpenAIOrder;
        foreach (char symbol in byteSymbols)
        {
            vocab.Add(symbol.ToString(), vocab.Count);
        }

        foreach (char symbol in byteSymbols)
        {
            vocab.Add(symbol + EndOfWordSuffix, vocab.Count);
        }

        var pairs = new List<string>(MergeCount);
        foreach (string line in merges)
        {
            // Python's str.split(): any whitespace separates, empty parts are dropped.
            string[] parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
            {
                throw new ModelConfigurationException($"'{name}': merge line '{line}' is not two symbols.");
            }

            pairs.Add(parts[0] + " " + parts[1]);
            vocab.TryAdd(parts[0] + parts[1], vocab.Count);
        }

        vocab.Add(StartToken, vocab.Count);
        vocab.Add(EndToken, vocab.Count);

        var data = new ModelData(vocab, pairs, Source: name);
        return Create(data, new TokenizerConfig(ContextLength: null, PadToken: null, PadTokenId: 0), options);
    }

    /// <summary>The BPE ids of <paramref name="text"/> after the reference clean-up: no start or end token, no truncation.</summary>
    public IReadOnlyList<int> EncodeToBpeIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        _bpe.Encode(ClipTextNormalizer.Instance.Normalize(text), ids);
        return ids;
    }

    /// <summary>
    /// Writes exactly <see cref="ContextLength"/> ids into <paramref name="destination"/>: start, BPE ids, end, then padding.
    /// Long texts are cut as clip.tokenize(truncate=True) does: the first ContextLength - 2 BPE ids, then the end token.
    /// </summary>
    /// <returns>The number of ids before the padding (start and end included).</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="ContextLength"/>.</exception>
    public int Encode(ReadOnlySpan<char> text, Span<long> destination) => EncodeCore(text, destination);

    /// <inheritdoc cref="Encode(ReadOnlySpan{char}, Span{long})"/>
    public int Encode(ReadOnlySpan<char> text, Span<int> destination) => EncodeCore(text, destination);

    /// <summary>The <see cref="ContextLength"/> ids of <paramref name="text"/> (start, BPE ids, end, padding) in a new array.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int[] ids = new int[ContextLength];
        EncodeCore<int>(text, ids);
        return ids;
    }

    /// <summary>BPE ids + 2 (start and end) before truncation: above <see cref="ContextLength"/> means the text will be cut.</summary>
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _bpe.Count(ClipTextNormalizer.Instance.Normalize(text)) + 2;
    }

    /// <summary>
    /// Best-effort text for ids: start and end tokens are skipped, as are pad ids that follow an end token; "&lt;/w&gt;"
    /// becomes a space. The result is the cleaned-up, lowercased text, not the original.
    /// </summary>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        bool afterEnd = false;
        Span<byte> utf8 = stackalloc byte[4];
        foreach (int id in ids)
        {
            if (id == StartTokenId)
            {
                continue;
            }

            if (id == EndTokenId)
            {
                afterEnd = true;
                continue;
            }

            if (afterEnd && id == PadTokenId)
            {
                continue;
            }

            afterEnd = false;
            if ((uint)id >= (uint)_idToToken.Length || _idToToken[id] is not { } token)
            {
                continue;
            }

            bool endOfWord = token.EndsWith(EndOfWordSuffix, StringComparison.Ordinal);
            foreach (char c in endOfWord ? token.AsSpan(0, token.Length - EndOfWordSuffix.Length) : token.AsSpan())
            {
                if (ByteLevel.TryGetByte(c, out byte b))
                {
                    bytes.Add(b);
                }
                else
                {
                    // Not a byte symbol (an added token); keep its text.
                    int n = new Rune(char.IsSurrogate(c) ? '\uFFFD' : c).EncodeToUtf8(utf8);
                    for (int k = 0; k < n; k++)
                    {
                        bytes.Add(utf8[k]);
                    }
                }
            }

            if (endOfWord)
            {
                bytes.Add((byte)' ');
            }
        }

        // Invalid UTF-8 (a cut inside a character) becomes U+FFFD, like the reference's errors="replace".
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)).TrimEnd(' ');
    }

    private int EncodeCore<T>(ReadOnlySpan<char> text, Span<T> destination)
        where T : IBinaryInteger<T>
    {
        int context = ContextLength;
        if (destination.Length < context)
        {
            throw new ArgumentException($"The destination holds {destination.Length} ids; this tokenizer writes {context}.", nameof(destination));
        }

        int maxBpe = context - 2;
        var ids = new List<int>(Math.Min(maxBpe, 128));
        if (!text.IsEmpty)
        {
            // Whole words until the context is full: the first maxBpe ids are those of the whole text, as the reference cuts them.
            _bpe.Encode(ClipTextNormalizer.Instance.Normalize(text.ToString()), ids, maxBpe);
        }

        int count = Math.Min(ids.Count, maxBpe);

        destination[0] = T.CreateTruncating(StartTokenId);
        for (int i = 0; i < count; i++)
        {
            destination[i + 1] = T.CreateTruncating(ids[i]);
        }

        destination[count + 1] = T.CreateTruncating(EndTokenId);
        destination[(count + 2)..context].Fill(T.CreateTruncating(PadTokenId));
        return count + 2;
    }

    private static ClipTokenizer Create(ModelData data, TokenizerConfig config, ClipTokenizerOptions? options)
    {
        Dictionary<string, int> vocab = data.Vocab;
        if (!vocab.TryGetValue(StartToken, out int startId) || !vocab.TryGetValue(EndToken, out int endId))
        {
            throw new ModelConfigurationException($"{data.Source}: the vocabulary lacks {StartToken} or {EndToken}; it is not a CLIP tokenizer.");
        }

        // A missing byte symbol would make the BPE model drop that byte silently, giving wrong ids instead of an error.
        foreach (char symbol in ByteLevel.SymbolsInOpenAIOrder)
        {
            if (!vocab.ContainsKey(symbol.ToString()) || !vocab.ContainsKey(symbol + EndOfWordSuffix))
            {
                throw new ModelConfigurationException(
                    $"{data.Source}: the vocabulary lacks the byte symbol '{symbol}' or '{symbol}{EndOfWordSuffix}'; it is not a CLIP byte-level BPE vocabulary.");
            }
        }

        int contextLength = options?.ContextLength ?? config.ContextLength ?? DefaultContextLength;
        if (contextLength is < 2 or > MaxContextLength)
        {
            throw new ModelConfigurationException($"{data.Source}: context length {contextLength} is outside 2..{MaxContextLength}.");
        }

        int padId;
        if (options?.PadTokenId is { } requestedPad)
        {
            padId = requestedPad;
        }
        else if (config.PadToken is { } padToken)
        {
            if (!vocab.TryGetValue(padToken, out padId))
            {
                throw new ModelConfigurationException($"{TokenizerConfigFileName}: pad_token '{padToken}' is not in the vocabulary.");
            }
        }
        else
        {
            padId = config.PadTokenId ?? 0;
        }

        int maxId = -1;
        foreach (int id in vocab.Values)
        {
            if (id < 0)
            {
                throw new ModelConfigurationException($"{data.Source}: the vocabulary has a negative id ({id}).");
            }

            maxId = Math.Max(maxId, id);
        }

        var idToToken = new string?[maxId + 1];
        foreach ((string token, int id) in vocab)
        {
            idToToken[id] = token;
        }

        ClipBpe bpe;
        try
        {
            // Special tokens are recognised only when the split pattern yields them whole, as in the reference.
            bpe = new ClipBpe(vocab, data.Merges, [(StartToken, startId), (EndToken, endId)], SplitRegex());
        }
        catch (InvalidOperationException ex)
        {
            throw new ModelConfigurationException($"{data.Source}: the merges do not fit the vocabulary: {ex.Message}", ex);
        }

        return new ClipTokenizer(bpe, idToToken, startId, endId, contextLength, padId);
    }

    private static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelConfigurationException($"Cannot read '{path}': {ex.Message}", ex);
        }
    }

    private static Dictionary<string, int> ReadVocabJson(Stream stream, string fileName)
    {
        // Read as it streams past, without a document: the 50,000 entries load several times faster.
        ReadOnlySpan<byte> bytes = ReadAll(stream);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ModelConfigurationException($"{fileName}: expected a JSON object of token → id.");
            }

            var vocab = new Dictionary<string, int>(50000, StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                if (!reader.Read() || reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int id))
                {
                    throw new ModelConfigurationException($"{fileName}: the id of token '{name}' is not an integer.");
                }

                vocab[name] = id;
            }

            // Anything after the object is malformed, as a document parse would say.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw new ModelConfigurationException($"{fileName}: expected a JSON object of token → id.");
            }

            return vocab;
        }
        catch (JsonException ex)
        {
            throw new ModelConfigurationException($"{fileName} is not valid JSON: {ex.Message}", ex);
        }
    }

    private static Dictionary<string, int> ReadVocabObject(JsonElement element, string fileName)
    {
        var vocab = new Dictionary<string, int>(50000, StringComparer.Ordinal);
        foreach (JsonProperty property in element.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out int id))
            {
                throw new ModelConfigurationException($"{fileName}: the id of token '{property.Name}' is not an integer.");
            }

            vocab[property.Name] = id;
        }

        return vocab;
    }

    private static ReadOnlySpan<byte> ReadAll(Stream stream)
    {
        if (stream.CanSeek && stream.Length - stream.Position is long left and < int.MaxValue)
        {
            byte[] bytes = new byte[left];
            stream.ReadExactly(bytes);
            return bytes;
        }

        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
    }

    private static List<string> ReadMergesTxt(Stream stream, string fileName)
    {
        var merges = new List<string>(50000);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }

            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
            {
                throw new ModelConfigurationException($"{fileName}: line {lineNumber} is not two symbols separated by one space.");
            }

            merges.Add(line);
        }

        return merges;
    }

    private static ModelData ReadTokenizerJson(Stream stream, string fileName)
    {
        using JsonDocument doc = ParseJson(stream, fileName);
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object)
        {
            throw new ModelConfigurationException($"{fileName}: no \"model\" object.");
        }

        if (model.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.String && type.GetString() != "BPE")
        {
            throw new ModelConfigurationException($"{fileName}: model type '{type.GetString()}' is not BPE; CLIP uses a BPE tokenizer.");
        }

        if (model.TryGetProperty("end_of_word_suffix", out JsonElement suffix) && suffix.ValueKind == JsonValueKind.String
            && suffix.GetString() != EndOfWordSuffix)
        {
            throw new ModelConfigurationException($"{fileName}: end_of_word_suffix '{suffix.GetString()}' is not CLIP's '{EndOfWordSuffix}'.");
        }

        if (model.TryGetProperty("continuing_subword_prefix", out JsonElement prefix) && prefix.ValueKind == JsonValueKind.String
            && prefix.GetString()!.Length > 0)
        {
            throw new ModelConfigurationException($"{fileName}: continuing_subword_prefix '{prefix.GetString()}' is set; CLIP uses none.");
        }

        if (!model.TryGetProperty("vocab", out JsonElement vocabElement) || vocabElement.ValueKind != JsonValueKind.Object)
        {
            throw new ModelConfigurationException($"{fileName}: no \"model.vocab\" object.");
        }

        Dictionary<string, int> vocab = ReadVocabObject(vocabElement, fileName);

        // Added tokens (the start and end tokens among them) may live only here.
        if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement token in added.EnumerateArray())
            {
                if (token.ValueKind == JsonValueKind.Object
                    && token.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String
                    && token.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out int addedId))
                {
                    vocab.TryAdd(content.GetString()!, addedId);
                }
            }
        }

        var merges = new List<string>(50000);
        if (model.TryGetProperty("merges", out JsonElement mergesElement) && mergesElement.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement merge in mergesElement.EnumerateArray())
            {
                // Older files write "a b"; tokenizers 0.20+ writes ["a", "b"].
                string? pair = merge.ValueKind switch
                {
                    JsonValueKind.String => merge.GetString(),
                    JsonValueKind.Array when merge.GetArrayLength() == 2
                        && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String
                        => merge[0].GetString() + " " + merge[1].GetString(),
                    _ => null,
                };

                if (pair is null || pair.Split(' ').Length != 2)
                {
                    throw new ModelConfigurationException($"{fileName}: merge entry {merges.Count + 1} is not two symbols.");
                }

                merges.Add(pair);
            }
        }
        else
        {
            throw new ModelConfigurationException($"{fileName}: no \"model.merges\" array.");
        }

        return new ModelData(vocab, merges, Source: fileName);
    }

    private static TokenizerConfig ReadTokenizerConfig(string path)
    {
        using FileStream stream = OpenRead(path);
        using JsonDocument doc = ParseJson(stream, TokenizerConfigFileName);
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ModelConfigurationException($"{TokenizerConfigFileName}: expected a JSON object.");
        }

        int? contextLength = null;
        if (root.TryGetProperty("model_max_length", out JsonElement max) && max.ValueKind == JsonValueKind.Number)
        {
            double value = max.GetDouble();
            if (value < UnsetModelMaxLength)
            {
                if (value != Math.Floor(value) || value < 2 || value > MaxContextLength)
                {
                    throw new ModelConfigurationException(
                        $"{TokenizerConfigFileName}: model_max_length {value.ToString(CultureInfo.InvariantCulture)} is not a context length in 2..{MaxContextLength}.");
                }

                contextLength = (int)value;
            }
        }

        string? padToken = null;
        if (root.TryGetProperty("pad_token", out JsonElement pad))
        {
            padToken = pad.ValueKind switch
            {
                JsonValueKind.String => pad.GetString(),
                // The AddedToken form: { "content": "!", ... }
                JsonValueKind.Object when pad.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String
                    => content.GetString(),
                JsonValueKind.Null => null,
                _ => throw new ModelConfigurationException($"{TokenizerConfigFileName}: pad_token is neither a string nor a token object."),
            };
        }

        return new TokenizerConfig(contextLength, padToken, PadTokenId: null);
    }

    private static JsonDocument ParseJson(Stream stream, string fileName)
    {
        try
        {
            return JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new ModelConfigurationException($"{fileName} is not valid JSON: {ex.Message}", ex);
        }
    }

    [GeneratedRegex(SplitPattern, RegexOptions.CultureInvariant)]
    private static partial Regex SplitRegex();

    private readonly record struct TokenizerConfig(int? ContextLength, string? PadToken, int? PadTokenId);

    private sealed record ModelData(Dictionary<string, int> Vocab, List<string> Merges, string Source);
}
