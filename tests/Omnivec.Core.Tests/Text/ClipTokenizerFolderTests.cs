using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnivec.Tests;
using Omnivec.Text;

namespace Omnivec.Core.Tests.Text;

public sealed class ClipTokenizerFolderTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-tok-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private int _dirs;

    private string NewDir(string name) => Directory.CreateDirectory(Path.Combine(_temp, $"{name}-{++_dirs}")).FullName;

    private static string HfFixture => Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-hf");

    private static string ImmichFixture => Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-immich", "textual");

    private static void AssertMatchesReference(ClipTokenizer tokenizer, int padId)
    {
        Assert.Equal(49406, tokenizer.StartTokenId);
        Assert.Equal(49407, tokenizer.EndTokenId);
        Assert.Equal(77, tokenizer.ContextLength);
        Assert.Equal(padId, tokenizer.PadTokenId);
        List<string> failures = TokenizerVectors.Mismatches(tokenizer, [.. TokenizerVectors.Reference, .. TokenizerVectors.Extra], padId);
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches:\n{string.Join("\n", failures)}");
    }

    /// <summary>A folder holding only the named files copied from <paramref name="source"/>.</summary>
    private string CopyOf(string source, params string[] files)
    {
        string dir = NewDir("copy");
        foreach (string file in files)
        {
            File.Copy(Path.Combine(source, file), Path.Combine(dir, file));
        }

        return dir;
    }

    [Fact]
    public void Hugging_Face_folder_with_vocab_and_merges_pads_with_the_end_token()
    {
        AssertMatchesReference(ClipTokenizer.FromDirectory(HfFixture), padId: 49407);
    }

    [Fact]
    public void Hugging_Face_tokenizer_json_alone_gives_the_same_ids()
    {
        string dir = CopyOf(HfFixture, "tokenizer.json", "tokenizer_config.json");
        AssertMatchesReference(ClipTokenizer.FromDirectory(dir), padId: 49407);
    }

    [Fact]
    public void Immich_textual_folder_pads_with_zero()
    {
        AssertMatchesReference(ClipTokenizer.FromDirectory(ImmichFixture), padId: 0);
        string jsonOnly = CopyOf(ImmichFixture, "tokenizer.json", "tokenizer_config.json");
        AssertMatchesReference(ClipTokenizer.FromDirectory(jsonOnly), padId: 0);
    }

    [Fact]
    public void Tokenizer_json_with_merges_as_pairs_is_read_too()
    {
        // tokenizers 0.20+ writes merges as ["a", "b"] arrays.
        JsonNode root = JsonNode.Parse(File.ReadAllText(Path.Combine(HfFixture, "tokenizer.json")))!;
        JsonArray merges = root["model"]!["merges"]!.AsArray();
        var pairs = new JsonArray();
        foreach (JsonNode? merge in merges)
        {
            string[] parts = merge!.GetValue<string>().Split(' ');
            pairs.Add(new JsonArray(parts[0], parts[1]));
        }

        root["model"]!["merges"] = pairs;
        string dir = NewDir("pairs");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), root.ToJsonString());

        var tokenizer = ClipTokenizer.FromDirectory(dir);
        Assert.Equal(0, tokenizer.PadTokenId); // no tokenizer_config.json: OpenAI's padding
        AssertMatchesReference(tokenizer, padId: 0);
    }

    [Fact]
    public void Folder_written_from_the_OpenAI_file_matches_and_streams_do_too()
    {
        // Independent of the committed fixtures: vocab.json + merges.txt made here from the corpus's BPE file.
        string dir = NewDir("openai");
        IReadOnlyList<string?> tokens = TokenizerVectors.OpenAI.TokensById;
        var vocab = new Dictionary<string, int>();
        for (int id = 0; id < tokens.Count; id++)
        {
            vocab[tokens[id]!] = id;
        }

        File.WriteAllText(Path.Combine(dir, "vocab.json"), JsonSerializer.Serialize(vocab));
        using (var gz = new GZipStream(File.OpenRead(TokenizerVectors.BpeFile), CompressionMode.Decompress))
        using (var reader = new StreamReader(gz))
        {
            string[] lines = reader.ReadToEnd().Split('\n')[1..48895];
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\n" + string.Join('\n', lines) + "\n");
        }

        AssertMatchesReference(ClipTokenizer.FromDirectory(dir), padId: 0);

        using FileStream vocabStream = File.OpenRead(Path.Combine(dir, "vocab.json"));
        using FileStream mergesStream = File.OpenRead(Path.Combine(dir, "merges.txt"));
        var fromStreams = ClipTokenizer.FromVocabAndMerges(vocabStream, mergesStream, new ClipTokenizerOptions { PadTokenId = 49407 });
        AssertMatchesReference(fromStreams, padId: 49407);
    }

    [Fact]
    public void Tokenizer_config_sets_context_length_and_pad_and_options_win()
    {
        string dir = CopyOf(HfFixture, "vocab.json", "merges.txt");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"),
            """{ "model_max_length": 16, "pad_token": { "content": "!", "lstrip": false, "__type": "AddedToken" } }""");
        var fromConfig = ClipTokenizer.FromDirectory(dir);
        Assert.Equal(16, fromConfig.ContextLength);
        Assert.Equal(0, fromConfig.PadTokenId);
        Assert.Equal([49406, 320, 1929, 49407, .. Enumerable.Repeat(0, 12)], fromConfig.Encode("a dog"));

        var overridden = ClipTokenizer.FromDirectory(dir, new ClipTokenizerOptions { ContextLength = 5, PadTokenId = 7 });
        Assert.Equal([49406, 320, 1929, 49407, 7], overridden.Encode("a dog"));

        // Hugging Face's "no limit" sentinel means the CLIP default.
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{ "model_max_length": 1000000000000000019884624838656 }""");
        Assert.Equal(77, ClipTokenizer.FromDirectory(dir).ContextLength);
    }

    [Fact]
    public void A_folder_without_tokenizer_files_names_the_files_looked_for()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => ClipTokenizer.FromDirectory(_temp));
        Assert.Contains("vocab.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("merges.txt", error.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.json", error.Message, StringComparison.Ordinal);

        Assert.Throws<ModelConfigurationException>(() => ClipTokenizer.FromDirectory(Path.Combine(_temp, "missing")));
    }

    [Theory]
    [InlineData("vocab.json")]
    [InlineData("merges.txt")]
    [InlineData("tokenizer.json")]
    [InlineData("tokenizer_config.json")]
    public void A_malformed_file_is_named_in_the_error(string file)
    {
        string dir = file == "tokenizer.json"
            ? CopyOf(HfFixture, "tokenizer.json")
            : CopyOf(HfFixture, "vocab.json", "merges.txt", "tokenizer_config.json");
        string broken = file == "merges.txt" ? "#version: 0.2\ni n\nthis line has three\n" : """{ "model": { "vocab": { "a": 1, """;
        File.WriteAllText(Path.Combine(dir, file), broken);

        var error = Assert.Throws<ModelConfigurationException>(() => ClipTokenizer.FromDirectory(dir));
        Assert.Contains(file, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_pad_token_or_a_non_clip_vocabulary_is_refused()
    {
        string dir = CopyOf(HfFixture, "vocab.json", "merges.txt");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{ "pad_token": "[PAD]" }""");
        var pad = Assert.Throws<ModelConfigurationException>(() => ClipTokenizer.FromDirectory(dir));
        Assert.Contains("[PAD]", pad.Message, StringComparison.Ordinal);

        using var vocab = new MemoryStream(Encoding.UTF8.GetBytes("""{ "a": 0, "b": 1, "ab": 2, "<|startoftext|>": 3, "<|endoftext|>": 4 }"""));
        using var merges = new MemoryStream(Encoding.UTF8.GetBytes("a b\n"));
        var notClip = Assert.Throws<ModelConfigurationException>(() => ClipTokenizer.FromVocabAndMerges(vocab, merges));
        Assert.Contains("byte", notClip.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_broken_OpenAI_file_is_a_configuration_error()
    {
        Assert.Throws<ModelConfigurationException>(() => ClipTokenizer.FromOpenAIBpeFile(Path.Combine(_temp, "none.txt.gz")));
        string notGzip = Path.Combine(_temp, "plain.txt.gz");
        File.WriteAllText(notGzip, "#version: 0.2\ni n\n");
        var error = Assert.Throws<ModelConfigurationException>(() => ClipTokenizer.FromOpenAIBpeFile(notGzip));
        Assert.Contains("plain.txt.gz", error.Message, StringComparison.Ordinal);
    }
}
