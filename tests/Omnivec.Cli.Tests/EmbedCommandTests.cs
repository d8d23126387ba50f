using System.Text.Json;
using Omnivec.Onnx;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

public sealed class EmbedCommandTests
{
    [Fact]
    public async Task Embed_prints_one_json_line_per_input_equal_to_the_library()
    {
        CliResult result = await CliRunner.RunAsync("embed", "--model", CliRunner.ModelHf, "--text", "a dog", "--text", "a cat on a mat",
            "--image", CliRunner.Photo("two_beagles.jpg"), "--json");
        Assert.True(result.ExitCode == 0, result.StdErr);
        string[] lines = result.Lines;
        Assert.Equal(3, lines.Length);

        using var clip = ClipEmbeddingGenerator.Load(CliRunner.ModelHf);
        float[][] texts = clip.EmbedTexts(["a dog", "a cat on a mat"]);
        float[] image = clip.EmbedImageFiles([CliRunner.Photo("two_beagles.jpg")])[0].Embedding!.Vector.ToArray();
        (string Input, string Modality, float[] Expected)[] expected =
        [
            ("a dog", "text", texts[0]), ("a cat on a mat", "text", texts[1]), (CliRunner.Photo("two_beagles.jpg"), "image", image),
        ];
        for (int i = 0; i < lines.Length; i++)
        {
            using JsonDocument doc = JsonDocument.Parse(lines[i]);
            JsonElement root = doc.RootElement;
            Assert.Equal(expected[i].Input, root.GetProperty("input").GetString());
            Assert.Equal(expected[i].Modality, root.GetProperty("modality").GetString());
            Assert.Equal("tiny-clip-hf", root.GetProperty("model").GetString());
            Assert.Equal(clip.Dimensions, root.GetProperty("dimensions").GetInt32());
            float[] embedding = root.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(expected[i].Expected, embedding); // JSON floats round-trip exactly
        }
    }

    [Fact]
    public async Task A_bad_input_is_reported_the_others_still_print_and_the_exit_code_is_non_zero()
    {
        string corrupt = TestPaths.CorpusFile("images", "malformed", "jpeg_truncated_400bytes.jpg");
        CliResult result = await CliRunner.RunAsync("embed", "--model", CliRunner.ModelImmich, "--image", CliRunner.Photo("bananas.jpg"),
            "--image", "/nonexistent/photo.jpg", "--image", corrupt, "--image", CliRunner.Photo("hotdog.jpg"), "--json");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("/nonexistent/photo.jpg", result.StdErr);
        Assert.Contains("not found", result.StdErr);
        Assert.Contains("jpeg_truncated_400bytes.jpg", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr); // a message, not a stack trace
        string[] inputs = result.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("input").GetString()!).ToArray();
        Assert.Contains(CliRunner.Photo("bananas.jpg"), inputs);
        Assert.Contains(CliRunner.Photo("hotdog.jpg"), inputs);
    }

    [Fact]
    public async Task A_missing_model_folder_or_unknown_layout_is_a_clear_error()
    {
        CliResult result = await CliRunner.RunAsync("embed", "--model", TestPaths.Fixtures, "--text", "x");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("text_model.onnx", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
    }

    [Fact]
    public async Task Tokenize_prints_the_reference_ids_with_the_models_padding()
    {
        string[] lines = File.ReadAllLines(TestPaths.CorpusFile("clip", "tokenizer-vectors.jsonl")).Take(25).ToArray();
        var texts = lines.Select(l => JsonDocument.Parse(l).RootElement).Select(e => (Text: e.GetProperty("text").GetString()!,
            Ids: e.GetProperty("context77").EnumerateArray().Select(x => x.GetInt32()).ToArray())).ToArray();
        CliResult result = await CliRunner.RunAsync(["tokenize", "--model", CliRunner.ModelImmich, "--json", .. texts.Select(t => t.Text)]);
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal(texts.Length, result.Lines.Length);
        for (int i = 0; i < texts.Length; i++)
        {
            JsonElement root = JsonDocument.Parse(result.Lines[i]).RootElement;
            Assert.Equal(texts[i].Text, root.GetProperty("text").GetString());
            Assert.Equal(texts[i].Ids, root.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray());
        }

        // The Transformers.js layout pads with the end token instead of 0.
        CliResult hf = await CliRunner.RunAsync("tokenize", "--model", CliRunner.ModelHf, "--json", "a dog");
        int[] hfIds = JsonDocument.Parse(hf.Lines[0]).RootElement.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        Assert.Equal(77, hfIds.Length);
        Assert.All(hfIds[4..], id => Assert.Equal(49407, id));
    }
}
