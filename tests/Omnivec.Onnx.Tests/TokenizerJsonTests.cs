using System.Text;
using System.Text.Json;
using Omnivec.Tests;
using Omnivec.Text;
using Xunit.Abstractions;

namespace Omnivec.Onnx.Tests;

/// <summary>
/// Packs whose only tokenizer file is tokenizer.json: SentencePiece Unigram (SigLIP/T5 style, and NLLB's fairseq-ordered
/// vocabulary) and CLIP's BPE load from it and give the ids of transformers.js's tokenizer built from the same file.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class TokenizerJsonTests(ModelFixture models, ITestOutputHelper output) : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-tokjson-").FullName;

    public void Dispose() => Directory.Delete(_temp, true);

    /// <summary>Reference strings, the corpus captions, non-Latin scripts, unicode oddities, empty and very long texts.</summary>
    private static List<string> VariedTexts()
    {
        var texts = new List<string>();
        texts.AddRange(File.ReadLines(TestPaths.CorpusFile("clip", "tokenizer-vectors.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!));
        texts.AddRange(File.ReadLines(TestPaths.CorpusFile("images", "photos", "CAPTIONS.tsv")).Select(l => l.Split('\t')[^1]));
        texts.AddRange(
        [
            "", " ", "a", "ein Hund am Strand", "Straße, Größe, Übermaß", "собака на пляже", "一只猫在沙发上睡觉", "東京タワーの夜景", "해변의 개",
            "كلب على الشاطئ", "कुत्ता समुद्र तट पर", "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "ﬁne ligatures ½ ①", "naïve café 🎵🐕", "numbers 1234567890 3.14159",
            "unknown glyphs: \u2603 \u16A0 \U0001D11E", string.Concat(Enumerable.Repeat("a very long caption about a harbour town at dawn ", 40)),
        ]);
        return texts;
    }

    private int[][] TransformersJsIds(string folder, IReadOnlyList<string> texts)
    {
        string outputFile = Path.Combine(_temp, $"ids-{Guid.NewGuid():N}.json");
        TransformersJs.RunScript("tokenize.mjs", new { model = folder, texts, output = outputFile, truncation = false });
        return JsonSerializer.Deserialize<int[][]>(File.ReadAllText(outputFile))!;
    }

    private string CopyWithout(string source, params string[] leaveOut)
    {
        string target = Path.Combine(_temp, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source).Where(f => !leaveOut.Contains(Path.GetFileName(f))))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return target;
    }

    /// <summary>SigLIP's clean-up (lower-case, ASCII punctuation removed, whitespace collapsed), so that transformers.js's plain T5 tokenizer sees what the model's does.</summary>
    private static string Canonical(string text)
    {
        var sb = new StringBuilder();
        foreach (char c in text.ToLowerInvariant())
        {
            if (!(c < 128 && char.IsPunctuation(c) || c < 128 && char.IsSymbol(c)))
            {
                sb.Append(c);
            }
        }

        return string.Join(' ', sb.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void A_Unigram_tokenizer_json_alone_gives_the_ids_of_transformers_js()
    {
        string textual = Path.Combine(ModelFixture.SiglipImmichModel, "textual");
        Assert.False(SentencePieceTextTokenizer.ModelFileNames.Any(n => File.Exists(Path.Combine(textual, n))), "the pack must ship tokenizer.json only");
        ITextTokenizer ours = models.SiglipImmich.Tokenizer;
        string[] texts = VariedTexts().Select(Canonical).Distinct().ToArray();
        int[][] reference = TransformersJsIds(textual, texts);
        var failures = new List<string>();
        for (int i = 0; i < texts.Length; i++)
        {
            int[] want = reference[i].Length > ours.ContextLength ? [.. reference[i][..(ours.ContextLength - 1)], reference[i][^1]] : reference[i];
            want = [.. want, .. Enumerable.Repeat(ours.PadTokenId, ours.ContextLength - want.Length)];
            int[] got = ours.Encode(texts[i]);
            if (!got.SequenceEqual(want))
            {
                failures.Add($"{JsonSerializer.Serialize(texts[i])}:\n  ours [{string.Join(' ', got)}]\n  want [{string.Join(' ', want)}]");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        output.WriteLine($"{texts.Length} texts equal");
    }

    [Fact]
    public void The_same_Unigram_model_from_tokenizer_json_or_from_the_SentencePiece_file_gives_the_same_ids()
    {
        // NLLB's tokenizer.json lists the vocabulary in fairseq's order (<s> <pad> </s> <unk>, pieces, language codes).
        string textual = Path.Combine(ModelFixture.NllbModel, "textual");
        var fromFile = SentencePieceTextTokenizer.FromDirectory(textual, SentencePieceScheme.Nllb, 77);
        var fromJson = SentencePieceTextTokenizer.FromDirectory(CopyWithout(textual, "sentencepiece.bpe.model"), SentencePieceScheme.Nllb, 77);
        List<string> texts = VariedTexts();
        texts.AddRange(texts.Take(40).Select(t => "deu_Latn" + t));
        foreach (string text in texts)
        {
            Assert.Equal(fromFile.Encode(text), fromJson.Encode(text));
        }

        // And SigLIP's: the Transformers.js pack's spiece.model against the Immich pack's tokenizer.json.
        var spiece = SentencePieceTextTokenizer.FromDirectory(ModelFixture.SiglipModel, SentencePieceScheme.Siglip);
        foreach (string text in texts)
        {
            Assert.Equal(spiece.Encode(text), models.SiglipImmich.Tokenizer.Encode(text));
        }
    }

    [Fact]
    public void A_BPE_tokenizer_json_for_a_SentencePiece_family_is_refused_naming_the_file_to_ship()
    {
        string folder = CopyWithout(Path.Combine(ModelFixture.SiglipImmichModel, "textual"), "tokenizer.json");
        File.Copy(Path.Combine(ReferenceData.HfModel, "tokenizer.json"), Path.Combine(folder, "tokenizer.json"));
        var error = Assert.Throws<ModelConfigurationException>(() => SentencePieceTextTokenizer.FromDirectory(folder, SentencePieceScheme.Siglip));
        Assert.Contains("Unigram", error.Message);
        Assert.Contains("tokenizer.model", error.Message);
    }

    [Fact]
    public void A_CLIP_pack_with_only_tokenizer_json_gives_the_ids_of_transformers_js()
    {
        string folder = CopyWithout(ReferenceData.HfModel, "vocab.json", "merges.txt");
        var ours = ClipTokenizer.FromDirectory(folder);
        // OpenAI's rules unescape HTML and fix text with ftfy first; transformers.js's CLIPTokenizer does neither, so
        // texts with '&' are left to the OpenAI reference vectors (ParityTests).
        string[] texts = VariedTexts().Where(t => !t.Contains('&', StringComparison.Ordinal)).Distinct().ToArray();
        int[][] reference = TransformersJsIds(folder, texts);
        var failures = new List<string>();
        for (int i = 0; i < texts.Length; i++)
        {
            int[] got = ours.Encode(texts[i]);
            int[] want = reference[i].Length > ours.ContextLength ? [.. reference[i][..(ours.ContextLength - 1)], reference[i][^1]] : reference[i];
            want = [.. want, .. Enumerable.Repeat(ours.PadTokenId, ours.ContextLength - want.Length)];
            if (!got.SequenceEqual(want))
            {
                failures.Add($"{JsonSerializer.Serialize(texts[i])}:\n  ours [{string.Join(' ', got)}]\n  want [{string.Join(' ', want)}]");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {texts.Length}:\n" + string.Join("\n", failures.Take(20)));
        output.WriteLine($"{texts.Length} texts equal");
    }
}
