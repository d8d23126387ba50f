namespace Omnivec.Cli;

/// <summary>
/// Work a command will need for certain, started on another core while the command line is parsed and the collection
/// opens: loading ONNX Runtime (its native library and environment, 100-200 ms) before a search loads its model.
/// </summary>
internal static class StartupWarmup
{
    private static Task? s_warmup;

    /// <summary>Waits for the warm-up (it takes well under a second) so the process never exits while ONNX Runtime initialises.</summary>
    public static void Finish() => s_warmup?.Wait(TimeSpan.FromSeconds(30));

    /// <summary>Starts loading ONNX Runtime in the background when the command is <c>search</c>; a failure shows later, where the model loads.</summary>
    public static void Start(string[] args)
    {
        if (args is ["search", ..] && !args.Contains("--help") && !args.Contains("-h"))
        {
            s_warmup = Task.Run(static () =>
            {
                try
                {
                    _ = Microsoft.ML.OnnxRuntime.OrtEnv.Instance();
                }
                catch (Exception e) when (e is Microsoft.ML.OnnxRuntime.OnnxRuntimeException or DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
                {
                    // The model load meets the same error and reports it.
                }
            });
        }
    }
}
