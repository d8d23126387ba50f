using System.Globalization;
using System.Text.Json;

namespace Omnivec.Media;

/// <summary>Why a file failed the probe step, before the reader maps it to its own error kind.</summary>
internal enum ProbeFailure
{
    Unsupported,
    Corrupt,
    TooLong,
    TimedOut,
}

/// <summary>
/// What a reader (video or audio) gives the shared probe step: the noun its messages use, its content sniffer, the
/// message for content it does not recognise and how a failure becomes its own typed exception.
/// </summary>
/// <param name="Noun">"video" or "audio", as in "cannot read the video".</param>
/// <param name="Sniff">The media type from the file's first bytes, or null when the content is not recognised.</param>
/// <param name="NotRecognised">The reason given for unrecognised content (after "path: ").</param>
/// <param name="Error">Builds the reader's exception from a failure, a one-line message and the cause.</param>
internal sealed record MediaProbeSpec(string Noun, Func<string, string?> Sniff, string NotRecognised,
    Func<ProbeFailure, string, Exception?, InvalidInputException> Error)
{
    /// <summary>
    /// A spec whose failures become the reader's exception with the error kind of the same name (every reader's kind enum
    /// has Unsupported, Corrupt, TooLong and TimedOut).
    /// </summary>
    public static MediaProbeSpec Create<TKind>(string noun, Func<string, string?> sniff, string notRecognised,
        Func<TKind, string, Exception?, InvalidInputException> error)
        where TKind : struct, Enum =>
        new(noun, sniff, notRecognised, (failure, message, inner) => error(Enum.Parse<TKind>(failure.ToString()), message, inner));
}

/// <summary>
/// The probe step every FFmpeg reader takes: an empty file, content the reader does not recognise and I/O errors become
/// one typed error naming the file, then ffprobe's JSON is read (bounded, within <see cref="FfmpegOptions.ProbeTimeout"/>).
/// </summary>
internal static class MediaProbe
{
    /// <summary>Sniffs and runs ffprobe; returns the sniffed media type and ffprobe's JSON.</summary>
    public static async Task<(string MediaType, string Json)> RunAsync(string path, FfmpegOptions options, MediaProbeSpec spec, CancellationToken cancellationToken)
    {
        string full = Path.GetFullPath(path);
        string? mediaType;
        try
        {
            if (new FileInfo(full).Length == 0)
            {
                throw spec.Error(ProbeFailure.Corrupt, $"{path}: the file is empty", null);
            }

            mediaType = spec.Sniff(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw spec.Error(ProbeFailure.Corrupt, $"{path}: {(ex is FileNotFoundException or DirectoryNotFoundException ? "file not found" : ex.Message)}", ex);
        }

        if (mediaType is null)
        {
            throw spec.Error(ProbeFailure.Unsupported, $"{path}: {spec.NotRecognised}", null);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ProbeTimeout);
        using FfmpegProcess probe = FfmpegProcess.Start(options.FfprobePath,
            ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-i", "file:" + full], options.MaxStderrBytes, timeout.Token);
        string json;
        int exitCode;
        try
        {
            using var reader = new StreamReader(probe.Output);
            // ffprobe's JSON is small; cap it anyway so a hostile file with thousands of streams cannot grow it without bound.
            char[] buffer = new char[4 << 20];
            int length = await reader.ReadBlockAsync(buffer, timeout.Token).ConfigureAwait(false);
            json = new string(buffer, 0, length);
            exitCode = await probe.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw spec.Error(ProbeFailure.TimedOut, $"{path}: ffprobe did not finish within {options.ProbeTimeout.TotalSeconds:0} s", null);
        }

        if (exitCode != 0)
        {
            throw spec.Error(ProbeFailure.Corrupt, $"{path}: cannot read the {spec.Noun} ({FailureReason(probe, full, path, "ffprobe", exitCode)})", null);
        }

        return (mediaType, json);
    }

    /// <summary>Fails when the duration is above <see cref="FfmpegOptions.MaxDuration"/>.</summary>
    public static void CheckDuration(string path, double durationSec, FfmpegOptions options, MediaProbeSpec spec)
    {
        if (durationSec > options.MaxDuration.TotalSeconds)
        {
            throw spec.Error(ProbeFailure.TooLong, string.Create(CultureInfo.InvariantCulture,
                $"{path}: the {spec.Noun} lasts {FormatDuration(durationSec)}, above the limit of {FormatDuration(options.MaxDuration.TotalSeconds)} ({MaxDurationHint})"), null);
        }
    }

    /// <summary>The tail of a failed FFmpeg program's stderr (with the full path shown as given), or its exit code.</summary>
    public static string FailureReason(FfmpegProcess process, string full, string path, string program, int exitCode)
    {
        string reason = process.StderrTail().Replace(full, path, StringComparison.Ordinal);
        return reason.Length > 0 ? reason : program + " exit code " + exitCode.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>How a user raises <see cref="FfmpegOptions.MaxDuration"/>, for the messages that name it.</summary>
    internal const string MaxDurationHint = "set OMNIVEC_MAX_DURATION to a number of seconds to raise it";

    internal static string FormatDuration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>A string member of ffprobe's JSON, or null.</summary>
    public static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    /// <summary>A number of ffprobe's JSON (it writes many as strings), or 0.</summary>
    public static double Num(JsonElement e, string name)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out JsonElement p))
        {
            return 0;
        }

        return p.ValueKind switch
        {
            JsonValueKind.Number => p.GetDouble(),
            JsonValueKind.String when double.TryParse(p.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) => d,
            _ => 0,
        };
    }
}
