using System.Text.Json;
using Omnivec.Models;
using Omnivec.Tests;
using Omnivec.Text;
using Xunit.Abstractions;

namespace Omnivec.Onnx.Tests;

/// <summary>
/// NLLB-CLIP's query language: token ids equal to transformers.js's NllbTokenizer with <c>src_lang</c> set (from the
/// pack's own tokenizer.json), the friendly language forms, the clear error for a language the pack does not know.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class NllbTests(ModelFixture models, ITestOutputHelper output)
{
    private TextLanguages Languages => Assert.IsType<TextLanguages>(models.Nllb.GetService(typeof(TextLanguages)));

    [Fact]
    public void Token_ids_equal_transformers_js_NllbTokenizer_with_the_source_language_set()
    {
        var texts = new List<string>();
        texts.AddRange(File.ReadLines(TestPaths.CorpusFile("clip", "tokenizer-vectors.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!));
        texts.AddRange(File.ReadLines(TestPaths.CorpusFile("images", "photos", "CAPTIONS.tsv")).Select(l => l.Split('\t')[^1]));
        texts.AddRange(
        [
            "", "a", "ein Hund am Strand", "Ünïcödé ÀÉÎÕÜ ß ẞ ſ İ ı", "собака на пляже", "一只猫在沙发上睡觉", "كلب على الشاطئ",
            "naïve café 東京 🎵🐕", "👩‍👩‍👧", "\u00a0non-breaking\u2003em zero-width", "ﬁ ligature, ½ fraction, ① circled",
            "unknown glyphs: \u2603 \u16A0 \U0001D11E", "numbers 1234567890 3.14159", string.Concat(Enumerable.Repeat("ein langer Satz ", 60)),
        ]);
        string[] languages = ["eng_Latn", "deu_Latn", "fra_Latn", "rus_Cyrl", "zho_Hans", "arb_Arab", "zul_Latn"];
        // OpenCLIP cleans whitespace before its tokenizer sees the text (clean="whitespace"); so does Omnivec.
        string[] cleaned = texts.Select(t => string.Join(' ', t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))).ToArray();
        string[] language = cleaned.Select((_, i) => languages[i % languages.Length]).ToArray();

        string outputFile = Path.Combine(Path.GetTempPath(), $"omnivec-nllb-ids-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        try
        {
            TransformersJs.RunScript("tokenize.mjs", new
            {
                model = Path.Combine(ModelFixture.NllbModel, "textual"), texts = cleaned, languages = language, output = outputFile, truncation = false,
            });
            int[][] reference = JsonSerializer.Deserialize<int[][]>(File.ReadAllText(outputFile))!;
            ITextTokenizer tokenizer = models.Nllb.Tokenizer;
            var failures = new List<string>();
            int cut = 0;
            for (int i = 0; i < texts.Count; i++)
            {
                if (texts[i].Any(c => c is >= '\u200B' and <= '\u200F'))
                {
                    // transformers.js approximates the charsmap and turns U+2000..U+200F into spaces; SentencePiece (and
                    // the Rust tokenizers) keep zero-width joiners. Such texts are checked against python3-sentencepiece
                    // in the conformance reference (tools/make_nllb_test_model.py) instead.
                    continue;
                }

                // The raw text with its code glued in front, as Immich sends it; Omnivec cleans it itself.
                int[] ours = tokenizer.Encode(language[i] + texts[i]);
                int[] want = reference[i];
                if (want.Length > tokenizer.ContextLength)
                {
                    // OpenCLIP truncates keeping </s>: the first 76 ids, then </s>.
                    want = [.. want[..(tokenizer.ContextLength - 1)], want[^1]];
                    cut++;
                }

                want = [.. want, .. Enumerable.Repeat(tokenizer.PadTokenId, tokenizer.ContextLength - want.Length)];
                if (!ours.SequenceEqual(want))
                {
                    failures.Add($"{language[i]} {JsonSerializer.Serialize(texts[i])}:\n  ours [{string.Join(' ', ours.TakeWhile(v => v != 1))}]\n  want [{string.Join(' ', want.TakeWhile(v => v != 1))}]");
                }
            }

            Assert.True(failures.Count == 0, string.Join("\n", failures));
            Assert.True(cut >= 1, "a long text must reach the 77-token limit");
            output.WriteLine($"{texts.Count} texts in {languages.Length} languages equal, {cut} truncated");
        }
        finally
        {
            File.Delete(outputFile);
        }
    }

    [Theory]
    [InlineData("de", "deu_Latn")]
    [InlineData("deu_Latn", "deu_Latn")]
    [InlineData("DEU_LATN", "deu_Latn")]
    [InlineData("de-CH", "deu_Latn")]
    [InlineData("de_DE", "deu_Latn")]
    [InlineData("deu", "deu_Latn")]
    [InlineData(" fr ", "fra_Latn")]
    [InlineData("zh", "zho_Hans")]
    [InlineData("zh-TW", "zho_Hant")]
    [InlineData("zh-Hant", "zho_Hant")]
    [InlineData("pt-BR", "por_Latn")]
    [InlineData("nb", "nob_Latn")]
    [InlineData("ja", "jpn_Jpan")]
    public void Friendly_language_forms_resolve_to_the_pack_code(string given, string code)
    {
        Assert.Equal(code, Languages.Resolve(given));
        Assert.Equal(code + "ein Hund", Languages.Apply("ein Hund", given));
    }

    [Theory]
    [InlineData("xx")]
    [InlineData("klingon")]
    [InlineData("tlh_Latn")]
    [InlineData("kas")] // two scripts: kas_Arab and kas_Deva
    [InlineData("")]
    public void An_unknown_language_is_a_typed_error_naming_the_accepted_forms(string given)
    {
        if (given.Length == 0)
        {
            Assert.False(Languages.TryResolve(given, out _));
            return;
        }

        var error = Assert.Throws<UnknownLanguageException>(() => Languages.Resolve(given));
        Assert.IsAssignableFrom<InvalidInputException>(error);
        Assert.Contains($"'{given}'", error.Message);
        Assert.Contains("deu_Latn", error.Message);
    }

    [Fact]
    public void The_pack_knows_the_FLORES_200_codes_and_reads_English_by_default()
    {
        Assert.Equal(ModelFamily.NllbClip, models.Nllb.Family);
        Assert.Equal(202, Languages.Codes.Count);
        Assert.Equal("eng_Latn", Languages.Default);
        Assert.Null(models.Hf.GetService(typeof(TextLanguages)));
        Assert.Null(models.Siglip.GetService(typeof(TextLanguages)));
        Assert.Null(models.Mclip.GetService(typeof(TextLanguages)));
    }

    [Fact]
    public void The_language_changes_the_embedding_and_no_code_means_the_default()
    {
        float[][] e = models.Nllb.EmbedTexts(["a dog on the beach", "eng_Latna dog on the beach", "deu_Latna dog on the beach"]);
        Assert.Equal(e[0], e[1]);
        Assert.True(VectorMath.Cosine(e[0], e[2]) < 0.99f, "the language token must reach the pooled position");
        // A code the pack does not know stays text (it is not split off).
        int[] ids = models.Nllb.Tokenizer.Encode("tlh_Latnqapla");
        Assert.Equal(models.Nllb.Tokenizer.Encode("eng_Latntlh_Latnqapla"), ids);
    }

    [Fact]
    public void The_default_follows_the_packs_src_lang()
    {
        string temp = Directory.CreateTempSubdirectory("omnivec-nllb-").FullName;
        try
        {
            string textual = Path.Combine(temp, "textual");
            Directory.CreateDirectory(textual);
            foreach (string file in Directory.GetFiles(Path.Combine(ModelFixture.NllbModel, "textual")))
            {
                File.Copy(file, Path.Combine(textual, Path.GetFileName(file)));
            }

            string config = Path.Combine(textual, "tokenizer_config.json");
            File.WriteAllText(config, File.ReadAllText(config).Replace("\"src_lang\": null", "\"src_lang\": \"fra_Latn\"", StringComparison.Ordinal));
            var tokenizer = SentencePieceTextTokenizer.FromDirectory(textual, SentencePieceScheme.Nllb, 77);
            Assert.Equal("fra_Latn", tokenizer.Languages!.Default);
            Assert.Equal(models.Nllb.Tokenizer.Encode("fra_Latnun chien"), tokenizer.Encode("un chien"));

            File.WriteAllText(config, File.ReadAllText(config).Replace("\"fra_Latn\"", "\"xyz_Latn\"", StringComparison.Ordinal));
            var error = Assert.Throws<ModelConfigurationException>(() => SentencePieceTextTokenizer.FromDirectory(textual, SentencePieceScheme.Nllb, 77));
            Assert.Contains("xyz_Latn", error.Message);
        }
        finally
        {
            Directory.Delete(temp, true);
        }
    }
}
