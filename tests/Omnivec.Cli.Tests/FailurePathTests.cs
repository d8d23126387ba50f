using System.Collections.Concurrent;
using System.Text.Json;
using Omnivec.Tests;
using Xunit.Abstractions;

namespace Omnivec.Cli.Tests;

/// <summary>
/// Every command against a broken model, a missing model, unreadable stores and bad flags: each ends with the documented
/// exit code (README, "Exit codes") and one "error:" line, and nothing ends in an unhandled exception.
/// </summary>
public sealed class FailurePathTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("omnivec-failures-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private const int Failure = 1;
    private const int Usage = 2;

    /// <summary>A copy of the tiny model with <paramref name="garbage"/> files overwritten by bytes that are not what they claim.</summary>
    private string BrokenModel(string name, params string[] garbage)
    {
        string dir = Path.Combine(_root, name);
        foreach (string file in Directory.GetFiles(CliRunner.ModelHf, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(dir, Path.GetRelativePath(CliRunner.ModelHf, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        foreach (string relative in garbage)
        {
            File.WriteAllText(Path.Combine(dir, relative), string.Concat(Enumerable.Repeat("this is not what the name says\n", 200)));
        }

        return dir;
    }

    [Fact]
    public async Task Every_command_fails_with_one_error_line_and_the_documented_exit_code()
    {
        string brokenOnnx = BrokenModel("broken-onnx", "onnx/text_model.onnx", "onnx/vision_model.onnx");
        string brokenTokenizer = BrokenModel("broken-tokenizer", "tokenizer.json", "vocab.json");
        string missing = Path.Combine(_root, "no-such-model");
        string storeIsAFile = Path.Combine(_root, "store-is-a-file");
        File.WriteAllText(storeIsAFile, "a file where the store folder should be");
        string corruptStore = Path.Combine(_root, "corrupt-store");
        Directory.CreateDirectory(Path.Combine(corruptStore, "default"));
        File.WriteAllText(Path.Combine(corruptStore, "default", "collection.db"), string.Concat(Enumerable.Repeat("not a database ", 600)));
        string notSqlite = Path.Combine(_root, "truncated-store");
        Directory.CreateDirectory(Path.Combine(notSqlite, "default"));
        File.WriteAllBytes(Path.Combine(notSqlite, "default", "collection.db"), "SQLite format 3\0"u8.ToArray()); // header only
        string fresh = Path.Combine(_root, "fresh-store");
        string photos = Path.Combine(_root, "photos");
        Directory.CreateDirectory(photos);
        File.Copy(CliRunner.Photo("bananas.jpg"), Path.Combine(photos, "bananas.jpg"));
        string photo = CliRunner.Photo("bananas.jpg");

        var cases = new List<(string[] Args, int Expected)>();
        void Add(int expected, params string[] args) => cases.Add((args, expected));

        // A broken model: garbage ONNX files, or a garbage tokenizer.
        foreach (string model in new[] { brokenOnnx, brokenTokenizer, missing, "omnivec-test/not-in-the-cache" })
        {
            Add(Failure, "embed", "--model", model, "--text", "a dog");
            Add(Failure, "embed", "--model", model, "--image", photo);
            Add(Failure, "index", photos, "--model", model, "--store", fresh);
            Add(Failure, "search", "a dog", "--model", model, "--store", fresh);
            Add(Failure, "classify", photo, "--model", model, "--labels", "cat,dog");
            Add(Failure, "serve", "--model", model, "--store", fresh, "--urls", "http://127.0.0.1:0");
        }

        foreach (string model in new[] { brokenTokenizer, missing, "omnivec-test/not-in-the-cache" })
        {
            Add(Failure, "tokenize", "a dog", "--model", model);
        }

        // Unreadable stores: a file where the folder should be, a database that is not one, one cut after its header.
        foreach (string store in new[] { storeIsAFile, corruptStore, notSqlite })
        {
            Add(Failure, "index", photos, "--model", CliRunner.ModelHf, "--store", store);
            Add(Failure, "search", "a dog", "--store", store);
            Add(Failure, "search", "--image", photo, "--store", store);
            Add(Failure, "similar", photo, "--store", store);
            Add(Failure, "dedupe", "--store", store);
            Add(Failure, "collections", "--store", store);
            Add(Failure, "serve", "--model", CliRunner.ModelHf, "--store", store, "--urls", "http://127.0.0.1:0");
        }

        // A store that does not exist yet: nothing to search.
        Add(Failure, "search", "a dog", "--store", fresh);
        Add(Failure, "similar", photo, "--store", fresh);
        Add(Failure, "dedupe", "--store", fresh);

        // The model cache (offline): a repo that is not cached, a bad repo id, removing what is not there.
        Add(Failure, "models", "pull", "omnivec-test/not-in-the-cache");
        Add(Failure, "models", "pull", "not a repo id");
        Add(Failure, "models", "rm", "omnivec-test/not-in-the-cache");

        // Bad flags: every command the CLI defines, found in its command tree, so a new command is covered when it is added.
        string[][] commands = CommandPaths(Omnivec.Cli.CliApp.BuildRootCommand()).ToArray();
        Assert.Contains(commands, c => c is ["embed"]);
        Assert.Contains(commands, c => c is ["models", "list"]);
        foreach (string[] command in commands)
        {
            Add(Usage, [.. command, "--no-such-flag"]);
        }

        Add(Usage, "models", "pull");
        Add(Usage, "models", "rm");
        Add(Usage, "models", "frobnicate");
        Add(Usage, "frobnicate");
        Add(Usage);
        Add(Usage, "embed", "--model", CliRunner.ModelHf);
        Add(Usage, "tokenize");
        Add(Usage, "index");
        Add(Usage, "index", Path.Combine(_root, "no-such-folder"), "--model", CliRunner.ModelHf, "--store", fresh);
        Add(Usage, "search", "a dog", "--top", "many");
        Add(Usage, "search", "--store", fresh);
        Add(Usage, "similar");
        Add(Usage, "dedupe", "--threshold", "high");
        Add(Usage, "embed", "--model", CliRunner.ModelHf, "--variant", "fp8", "--text", "a dog");
        Add(Usage, "models", "pull", "omnivec-test/tiny", "--variant", "fp8");
        Add(Usage, "embed", "--provider", "nobody", "--text", "a dog");
        Add(Usage, "serve", "--model", CliRunner.ModelHf, "--store", fresh, "--urls", "not-an-address");
        Add(Usage, "serve", "--model", CliRunner.ModelHf, "--store", fresh, "--max-batch-size", "lots");

        var failures = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (c, _) =>
        {
            CliResult result = await CliRunner.RunAsync(c.Args, null, TimeSpan.FromMinutes(3));
            string all = result.StdOut + result.StdErr;
            string[] errors = result.StdErr.Split('\n').Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToArray();
            string shown = $"omnivec {string.Join(' ', c.Args)} -> exit {result.ExitCode}: {result.StdErr.Trim()}";
            if (all.Contains("Unhandled exception", StringComparison.Ordinal) || all.Contains("   at ", StringComparison.Ordinal))
            {
                failures.Add("a stack trace escaped: " + shown);
            }
            else if (result.ExitCode != c.Expected)
            {
                failures.Add($"expected exit {c.Expected}: {shown}");
            }
            else if (errors.Length != 1 || errors[0].Length <= "error: ".Length + 5)
            {
                failures.Add($"expected one clear error line: {shown}");
            }
            else
            {
                output.WriteLine($"{c.Expected}  omnivec {string.Join(' ', c.Args)}\n     {errors[0]}");
            }
        });

        Assert.True(failures.IsEmpty, string.Join("\n", failures));
        Assert.False(File.Exists(Path.Combine(fresh, "default", "collection.db")), "a failed index must not leave an empty collection behind");
    }

    /// <summary>The path of every command below <paramref name="command"/> (e.g. ["models", "list"]).</summary>
    private static IEnumerable<string[]> CommandPaths(System.CommandLine.Command command, string[]? prefix = null)
    {
        foreach (System.CommandLine.Command sub in command.Subcommands)
        {
            string[] path = [.. prefix ?? [], sub.Name];
            yield return path;
            foreach (string[] deeper in CommandPaths(sub, path))
            {
                yield return deeper;
            }
        }
    }

    [Fact]
    public async Task The_openai_style_export_embeds_texts_equal_to_the_reference()
    {
        // The tiny model with its text tower exported the way OpenAI's code does (fixed 77 positions behind a dynamic axis).
        string model = BrokenModel("openai-export");
        File.Copy(Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-openai-text", "onnx", "text_model.onnx"), Path.Combine(model, "onnx", "text_model.onnx"), overwrite: true);
        using JsonDocument reference = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "reference", "tiny-clip-openai-text.json")));
        JsonElement[] texts = reference.RootElement.GetProperty("texts").EnumerateArray().Take(3).ToArray();

        CliResult result = await CliRunner.RunAsync(["embed", "--model", model, "--json", .. texts.SelectMany(t => new[] { "--text", t.GetProperty("text").GetString()! })]);
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal(texts.Length, result.Lines.Length);
        for (int i = 0; i < texts.Length; i++)
        {
            using JsonDocument line = JsonDocument.Parse(result.Lines[i]);
            float[] ours = line.RootElement.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            float[] expected = texts[i].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            float cosine = VectorMath.Cosine(ours, expected);
            Assert.True(cosine >= 0.9999999f, $"text {i}: cosine {cosine}");
        }
    }
}
