using System.Diagnostics;
using System.Text.Json;

namespace Omnivec.Tests;

/// <summary>
/// Runs the reference implementations from npm <c>@huggingface/transformers</c> (tools/clap-reference) in Node.js:
/// installs the locked packages on first use, then runs one of its scripts with a JSON job file.
/// </summary>
internal static class TransformersJs
{
    private static readonly Lazy<string> s_directory = new(() =>
    {
        string dir = Path.Combine(TestPaths.RepoRoot, "tools", "clap-reference");
        if (!System.IO.Directory.Exists(Path.Combine(dir, "node_modules", "@huggingface", "transformers")))
        {
            Run("npm", ["ci", "--no-audit", "--no-fund", "--legacy-peer-deps"], dir);
        }

        return dir;
    });

    public static string ToolDirectory => s_directory.Value;

    /// <summary>Runs <c>node {script} job.json</c> with <paramref name="job"/> serialised to a temporary file.</summary>
    public static void RunScript(string script, object job)
    {
        string jobFile = Path.Combine(Path.GetTempPath(), $"omnivec-tjs-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        File.WriteAllText(jobFile, JsonSerializer.Serialize(job));
        try
        {
            Run("node", [Path.Combine(ToolDirectory, script), jobFile], ToolDirectory);
        }
        finally
        {
            File.Delete(jobFile);
        }
    }

    private static void Run(string file, string[] args, string dir)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = dir, UseShellExecute = false, RedirectStandardError = true };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using Process p = Process.Start(info)!;
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed in {dir} (exit {p.ExitCode}): {stderr}");
        }
    }
}
