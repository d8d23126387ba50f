using System.Diagnostics;
using System.Globalization;

namespace Omnivec.Tests;

/// <summary>
/// Builds small test videos with the ffmpeg on PATH from corpus photos: shots of distinct photos with known cut times,
/// each shot panning slowly across its photo so frames inside a shot differ (a still shot would make cut detection trivial).
/// </summary>
internal static class TestVideos
{
    public static string Photo(string name) => TestPaths.CorpusFile("images", "photos", name);

    /// <summary>Encoder arguments per container.</summary>
    public static string[] CodecFor(string extension) => extension switch
    {
        ".webm" => ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k"],
        ".mov" => ["-c:v", "mjpeg", "-q:v", "5"],
        ".avi" => ["-c:v", "mpeg4", "-q:v", "5"],
        ".3gp" => ["-c:v", "mpeg4", "-q:v", "5"],
        _ => ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    };

    /// <summary>
    /// Writes a video of one shot per photo, each lasting its seconds, at <paramref name="width"/>×<paramref name="height"/>
    /// and 30 fps. Returns the cut times (the start of every shot after the first).
    /// </summary>
    public static double[] MakeShots(string output, IReadOnlyList<(string Photo, double Seconds)> shots, int width = 320, int height = 240,
        int fps = 30, string[]? codec = null, string[]? extra = null)
    {
        var args = new List<string> { "-nostdin", "-v", "error", "-y" };
        foreach ((string photo, double seconds) in shots)
        {
            args.AddRange(["-loop", "1", "-framerate", fps.ToString(CultureInfo.InvariantCulture), "-t", F(seconds), "-i", Photo(photo)]);
        }

        var graph = new List<string>();
        for (int i = 0; i < shots.Count; i++)
        {
            // Scale a little larger than the frame, then pan: 12 px/s right and 8 px/s down.
            graph.Add(string.Create(CultureInfo.InvariantCulture,
                $"[{i}:v]scale={width * 5 / 4}:{height * 5 / 4}:force_original_aspect_ratio=increase,crop={width}:{height}:'min(iw-{width},t*12)':'min(ih-{height},t*8)',setsar=1,fps={fps},format=yuv420p[v{i}]"));
        }

        graph.Add(string.Concat(Enumerable.Range(0, shots.Count).Select(i => $"[v{i}]")) + $"concat=n={shots.Count}:v=1:a=0[out]");
        args.AddRange(["-filter_complex", string.Join(';', graph), "-map", "[out]"]);
        args.AddRange(codec ?? CodecFor(Path.GetExtension(output)));
        args.AddRange(extra ?? []);
        args.Add(output);
        Run("ffmpeg", args);

        var cuts = new List<double>();
        double t = 0;
        for (int i = 0; i < shots.Count - 1; i++)
        {
            t += shots[i].Seconds;
            cuts.Add(t);
        }

        return [.. cuts];
    }

    /// <summary>A rotated phone-style video: <paramref name="upright"/> encoded on its side with a display matrix that turns it upright (90° clockwise).</summary>
    public static void MakeRotated(string upright, string output)
    {
        string sideways = output + ".sideways.mp4";
        Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-i", upright, "-vf", "transpose=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", sideways]);
        Run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-i", sideways, "-c", "copy", "-metadata:s:v:0", "rotate=-90", output]);
        File.Delete(sideways);
    }

    /// <summary>Runs a program to completion; throws with its stderr on failure.</summary>
    public static void Run(string program, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        _ = stdout.Result;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {stderr}");
        }
    }

    private static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
