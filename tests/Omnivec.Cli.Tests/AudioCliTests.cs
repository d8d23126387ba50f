using System.Text.Json;
using Omnivec.Onnx;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

public sealed class AudioCliTests
{
    private static readonly string Pack = Path.Combine(TestPaths.Fixtures, "models", "tiny-clap-hf");
    private static readonly string Clips = Path.Combine(TestPaths.Fixtures, "reference", "clap");

    [Fact]
    public async Task Embed_audio_prints_one_line_per_window_with_offsets_equal_to_the_library()
    {
        string clip = Path.Combine(Clips, "mix-13.5s.wav");
        CliResult result = await CliRunner.RunAsync(["embed", "--model", Pack, "--audio", clip, "--text", "a dog barking", "--json"]);
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal(3, result.Lines.Length);

        using var clap = ClapEmbeddingGenerator.Load(Pack);
        var expected = new List<AudioSegmentEmbedding>();
        await foreach (AudioSegmentEmbedding w in clap.EmbedAudioFileAsync(clip))
        {
            expected.Add(w);
        }

        using JsonDocument text = JsonDocument.Parse(result.Lines[0]);
        Assert.Equal("text", text.RootElement.GetProperty("modality").GetString());
        Assert.Equal(clap.EmbedTexts(["a dog barking"])[0], text.RootElement.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        double[][] offsets = [[0, 10], [3.5, 13.5]];
        for (int i = 0; i < 2; i++)
        {
            using JsonDocument doc = JsonDocument.Parse(result.Lines[1 + i]);
            JsonElement root = doc.RootElement;
            Assert.Equal("audio", root.GetProperty("modality").GetString());
            Assert.Equal(clip, root.GetProperty("input").GetString());
            Assert.Equal(512, root.GetProperty("dimensions").GetInt32());
            Assert.Equal(offsets[i][0], root.GetProperty("start_offset_sec").GetDouble());
            Assert.Equal(offsets[i][1], root.GetProperty("end_offset_sec").GetDouble());
            Assert.Equal(expected[i].Embedding.Vector.ToArray(), root.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        }
    }

    [Fact]
    public async Task A_bad_audio_file_fails_alone_and_an_image_model_refuses_audio()
    {
        string text = Path.Combine(Path.GetTempPath(), $"omnivec-notes-{Guid.NewGuid():N}.mp3");
        File.WriteAllText(text, "not an mp3\n");
        try
        {
            CliResult result = await CliRunner.RunAsync(["embed", "--model", Pack, "--audio", text, "--audio", Path.Combine(Clips, "tone-2.3s.wav"), "--json"]);
            Assert.Equal(1, result.ExitCode);
            Assert.Single(result.Lines);
            Assert.Contains("not audio", result.StdErr);
            Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));

            CliResult clip = await CliRunner.RunAsync(["embed", "--model", CliRunner.ModelHf, "--audio", Path.Combine(Clips, "tone-2.3s.wav")]);
            Assert.Equal(2, clip.ExitCode);
            Assert.Contains("does not embed audio", clip.StdErr);
        }
        finally
        {
            File.Delete(text);
        }
    }
}
