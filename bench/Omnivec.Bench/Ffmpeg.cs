using System.Diagnostics;
using System.Globalization;

namespace Omnivec.Bench;

/// <summary>Runs ffmpeg for the benches that generate their media (<c>scenecuts</c>, <c>audiowindows</c>).</summary>
internal static class Ffmpeg
{
    /// <summary>Runs ffmpeg with <paramref name="args"/>; a non-zero exit throws with the command and ffmpeg's stderr.</summary>
    public static void Run(List<string> args)
    {
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(info)!;
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffmpeg {string.Join(' ', args)} failed: {stderr}");
        }
    }

    /// <summary>A number as ffmpeg's filter expressions take it (invariant culture, at most three decimals).</summary>
    public static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
