namespace Omnivec.Index.Tests;

/// <summary>
/// Entry point of this test assembly when run as a program: the crash test starts it as a child process
/// (<c>dotnet Omnivec.Index.Tests.dll crash-worker ...</c>) so that it can be killed at arbitrary points.
/// </summary>
internal static class Program
{
    public static int Main(string[] args) =>
        args.Length > 0 && args[0] == CrashWorker.Verb ? CrashWorker.Run(args[1..]) : 0;
}
