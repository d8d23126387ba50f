using System.Diagnostics;
using System.Globalization;

namespace Omnivec.Cli;

/// <summary>
/// Where a command's start-up time goes, for measuring cold start: with <c>OMNIVEC_TRACE_STARTUP=1</c> the CLI prints to
/// stderr, in milliseconds since the process started, each step it passes (<see cref="Mark"/>) and each Omnivec span
/// as it ends (model loads, probes, index loads, embedding calls, model runs, searches) with its duration.
/// Off (the default), it costs one environment lookup.
/// </summary>
internal static class StartupTrace
{
    private static readonly bool s_enabled = Environment.GetEnvironmentVariable("OMNIVEC_TRACE_STARTUP") is "1" or "true";
    private static ActivityListener? s_listener;
    private static DateTime s_processStart;

    public static bool Enabled => s_enabled;

    /// <summary>Starts listening (when enabled) and prints how long the runtime took to reach Main.</summary>
    public static void Start()
    {
        if (!s_enabled)
        {
            return;
        }

        using (var self = Process.GetCurrentProcess())
        {
            s_processStart = self.StartTime.ToUniversalTime();
        }

        Mark("main entered (runtime start-up before this)");
        s_listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == OmnivecTelemetry.ActivitySourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                string tags = string.Join(' ', activity.TagObjects.Select(t => t.Key.Replace("omnivec.", "", StringComparison.Ordinal) + "=" + t.Value));
                Write(activity.StartTimeUtc, string.Create(CultureInfo.InvariantCulture,
                    $"span {activity.OperationName} {activity.Duration.TotalMilliseconds:F1} ms (ends at {Since(activity.StartTimeUtc + activity.Duration):F1}) {tags}"));
            },
        };
        ActivitySource.AddActivityListener(s_listener);
    }

    /// <summary>Prints <paramref name="step"/> with the time since the process started (when enabled).</summary>
    public static void Mark(string step)
    {
        if (s_enabled)
        {
            Write(DateTime.UtcNow, step);
        }
    }

    private static double Since(DateTime utc) => (utc - s_processStart).TotalMilliseconds;

    // The process's CPU time so far (all threads) beside the wall clock: on a busy machine the wall clock stretches, the CPU time much less.
    private static void Write(DateTime at, string text) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[startup {Since(at),8:F1} ms, cpu {Environment.CpuUsage.TotalTime.TotalMilliseconds,7:F0} ms] {text}"));
}
