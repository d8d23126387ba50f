using System.Diagnostics;
using System.Text;
using Omnivec.Tests;

namespace Omnivec.Cli.Tests;

internal sealed record CliResult(int ExitCode, string StdOut, string StdErr)
{
    public string[] Lines => StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Runs the real <c>omnivec</c> program (the built omnivec.dll next to the tests) in a child process.</summary>
internal static class CliRunner
{
    public static string ModelHf => Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-hf");
    public static string ModelImmich => Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-immich");
    public static string Photo(string name) => TestPaths.CorpusFile("images", "photos", name);

    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "omnivec.dll"));
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // Never touch the real user's cache or collections from tests.
        info.Environment["HF_HUB_OFFLINE"] = "1";
        info.Environment["HF_HOME"] = Path.Combine(Path.GetTempPath(), "omnivec-tests-hf-home");
        info.Environment["OMNIVEC_HOME"] = Path.Combine(Path.GetTempPath(), "omnivec-tests-home");
        if (environment is not null)
        {
            foreach ((string key, string? value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        return info;
    }

    /// <summary>Waits until a started <c>omnivec serve</c> answers 200 on /health/ready; fails with its stderr if it exits first.</summary>
    public static async Task WaitUntilReadyAsync(Process server, HttpClient http, Task<string> stderr, TimeSpan guard)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (server.HasExited)
            {
                Assert.Fail($"the server exited with {server.ExitCode}: {await stderr}");
            }

            Assert.True(clock.Elapsed < guard, "the server did not start");
            try
            {
                if ((await http.GetAsync("/health/ready")).StatusCode == System.Net.HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(100);
        }
    }

    public static async Task<CliResult> RunAsync(IEnumerable<string> args, IDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        using var process = Process.Start(StartInfo(args, environment))!;
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"omnivec {string.Join(' ', args)} did not finish; stderr: {await stderr}");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(args, null, null);
}
