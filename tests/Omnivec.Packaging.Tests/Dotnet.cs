using System.Diagnostics;
using System.Text;

namespace Omnivec.Packaging.Tests;

internal sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public string Both => StdOut + "\n" + StdErr;
}

/// <summary>Runs child processes (the dotnet CLI, the installed tool, the sample) with a timeout; a timed-out one is killed with its children.</summary>
internal static class Run
{
    /// <summary>The dotnet host running these tests, so children use the same SDK and runtime.</summary>
    public static string DotnetHost
    {
        get
        {
            string? process = Environment.ProcessPath;
            if (process is not null && Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            {
                return process;
            }

            string? root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
            return root is not null ? Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet") : "dotnet";
        }
    }

    public static string DotnetRoot => Path.GetDirectoryName(Path.GetFullPath(DotnetHost)) ?? "";

    public static async Task<ProcessResult> ProcessAsync(string file, IEnumerable<string> args, string workingDirectory,
        IDictionary<string, string?>? environment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The test host runs under MSBuild/VSTest variables that must not leak into a nested build.
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH").ToList())
        {
            info.Environment.Remove(key);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        if (environment is not null)
        {
            foreach ((string key, string? value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout}; output: {await stdout}\n{await stderr}");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A dotnet CLI command without build servers (nothing of ours outlives the test).</summary>
    public static async Task<ProcessResult> DotnetAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        ProcessResult result = await ProcessAsync(DotnetHost, args, workingDirectory, null, timeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet {string.Join(' ', args)} failed ({result.ExitCode}):\n{result.Both}");
        }

        return result;
    }
}
