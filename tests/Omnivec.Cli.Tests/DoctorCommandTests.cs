namespace Omnivec.Cli.Tests;

public sealed class DoctorCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "omnivec-doctor-" + Guid.NewGuid().ToString("N"));

    public DoctorCommandTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private Dictionary<string, string?> Environment(string path) => new()
    {
        ["PATH"] = path,
        ["HF_HOME"] = Path.Combine(_root, "hf-home"), // does not exist: an empty model cache
        ["HF_HUB_CACHE"] = null,
        ["OMNIVEC_HOME"] = Path.Combine(_root, "home"),
        ["OMNIVEC_FFMPEG"] = null,
        ["OMNIVEC_FFPROBE"] = null,
        ["OMNIVEC_MODEL"] = null,
    };

    [Fact]
    public async Task Without_ffmpeg_on_the_path_and_with_an_empty_model_cache_it_says_what_is_missing_and_what_to_do()
    {
        string emptyBin = Path.Combine(_root, "bin");
        Directory.CreateDirectory(emptyBin);
        CliResult result = await CliRunner.RunAsync(["doctor"], Environment(emptyBin));

        Assert.Equal(1, result.ExitCode);
        string[] lines = result.Lines;
        string Line(string name) => Assert.Single(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var n, ..] && n == name);
        Assert.StartsWith("omnivec ", lines[0]);
        Assert.Contains("[MISSING]", Line("ffmpeg"));
        Assert.Contains("not found on PATH", Line("ffmpeg"));
        Assert.Contains("video files cannot be indexed", Line("ffmpeg"));
        Assert.Contains("apt install ffmpeg", Line("ffmpeg"));
        Assert.Contains("[MISSING]", Line("ffprobe"));
        Assert.Contains("[MISSING]", Line("model-cache"));
        Assert.Contains(Path.Combine(_root, "hf-home", "hub") + " does not exist: no model has been downloaded", Line("model-cache"));
        // The default model, not downloaded, and offline mode (the test runner's) means it cannot be fetched either.
        Assert.Contains("Xenova/clip-vit-base-patch32 (fp32) is not in the cache", Line("model"));
        Assert.Contains("offline mode is on", Line("model"));
        Assert.Equal("4 missing: model-cache, model, ffmpeg, ffprobe.", lines[^1]);
        Assert.DoesNotContain("   at ", result.StdErr);
    }

    [Fact]
    public async Task With_ffmpeg_a_model_folder_and_a_store_it_reports_them_found()
    {
        string bin = Path.Combine(_root, "bin");
        Directory.CreateDirectory(bin);
        foreach (string tool in new[] { "ffmpeg", "ffprobe" })
        {
            string script = Path.Combine(bin, tool);
            File.WriteAllText(script, $"#!/bin/sh\necho \"{tool} version 9.9-test Copyright (c) the FFmpeg developers\"\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        string store = Path.Combine(_root, "store");
        Directory.CreateDirectory(store);
        CliResult result = await CliRunner.RunAsync(["doctor", "--model", CliRunner.ModelHf, "--store", store], Environment(bin));

        Assert.Contains($"{Path.Combine(bin, "ffmpeg")} (ffmpeg version 9.9-test", result.StdOut);
        Assert.Contains($"{Path.Combine(bin, "ffprobe")} (ffprobe version 9.9-test", result.StdOut);
        Assert.Contains($"{CliRunner.ModelHf} (TransformersJs layout, fp32)", result.StdOut);
        Assert.Contains($"{store}: no collections", result.StdOut);
        // Native libraries load here, and the CPU line names the vector features the search kernels use.
        Assert.Contains("ONNX Runtime 1.", result.StdOut);
        Assert.Contains("SQLite 3.", result.StdOut);
        Assert.Matches(@"AVX2 (yes|no), FMA (yes|no), AVX-512F (yes|no)|AdvSIMD (yes|no)", result.StdOut);
        // Only the (empty) model cache is missing.
        Assert.Equal(1, result.ExitCode);
        Assert.EndsWith("1 missing: model-cache.", result.StdOut.TrimEnd());
    }
}
