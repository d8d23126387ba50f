namespace Omnivec.Cli;

/// <summary>The documented exit codes of <c>omnivec</c> (README, "Exit codes").</summary>
internal static class ExitCodes
{
    /// <summary>Everything worked.</summary>
    public const int Success = 0;

    /// <summary>An input, the model, the store or a service failed; the error line says which.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong: unknown command or option, a bad value, a missing argument.</summary>
    public const int Usage = 2;

    /// <summary>An unexpected internal error: a bug.</summary>
    public const int InternalError = 3;

    /// <summary>Cancelled (Ctrl+C).</summary>
    public const int Cancelled = 130;
}
