using System.Diagnostics;
using Omnivec.Tests;

namespace Omnivec.Index.Postgres.Tests;

/// <summary>
/// A PostgreSQL for the tests: PGlite (PostgreSQL 18 compiled to WebAssembly, with the real pgvector 0.8 extension)
/// behind tools/pglite/server.mjs on a 127.0.0.1 port, with a fresh data directory per test class in the temp folder
/// (copied from a template that initdb made once, kept beside PGlite in tools/pglite/node_modules so that nothing of it
/// is left in the temp folder), stopped and deleted on dispose. Its stdin is a pipe from this process, so it exits
/// when the test process dies. With OMNIVEC_TEST_POSTGRES=&lt;uri&gt; the tests use that server instead.
/// PGlite is one single-user backend: connections are real and concurrent, but the wrapper runs their transactions
/// one at a time.
/// </summary>
public sealed class PgliteServer : IDisposable
{
    public const string Password = "omnivec-test";

    private static readonly Lazy<string> s_template = new(CreateTemplate, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int s_databases;
    private Process? _process;
    private readonly string? _dataDir;
    private readonly bool _withVector;

    public PgliteServer() : this(withVector: true) { }

    internal PgliteServer(bool withVector)
    {
        string? external = Environment.GetEnvironmentVariable("OMNIVEC_TEST_POSTGRES");
        if (!string.IsNullOrEmpty(external) && withVector)
        {
            Uri = external;
            IsExternal = true;
            return;
        }

        _withVector = withVector;
        _dataDir = Path.Combine(Path.GetTempPath(), $"omnivec-pglite-{Environment.ProcessId}-{Interlocked.Increment(ref s_databases)}-{Guid.NewGuid():N}");
        CopyDirectory(s_template.Value, _dataDir);
        (_process, int port) = Start(_dataDir, withVector, 0);
        Port = port;
        Uri = $"postgresql://postgres:{Password}@127.0.0.1:{port}/postgres";
    }

    /// <summary>Connection URI of this server (password included).</summary>
    public string Uri { get; }

    public int Port { get; }

    /// <summary>True when the tests run against OMNIVEC_TEST_POSTGRES rather than PGlite.</summary>
    public bool IsExternal { get; }

    /// <summary>The node process serving PGlite (null when stopped or external), to check it does not outlive the tests.</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>Stops the database cleanly (as a restart of PostgreSQL would): open connections are cut.</summary>
    public void Stop()
    {
        if (IsExternal)
        {
            throw new InvalidOperationException("An external OMNIVEC_TEST_POSTGRES server cannot be stopped by the tests.");
        }

        Stop(_process);
        _process = null;
    }

    /// <summary>The data directory (null when external), to check it is removed on dispose.</summary>
    public string? DataDirectory => _dataDir;

    /// <summary>Where the initdb'd template lives (outside the temp folder: it is kept for the next runs).</summary>
    public static string TemplateDirectory => s_template.Value;

    /// <summary>Kills the database with SIGKILL (a crash: no clean shutdown); <see cref="Start"/> brings it back with crash recovery.</summary>
    public void Kill()
    {
        if (IsExternal || _process is null)
        {
            throw new InvalidOperationException("Only a running PGlite started by the tests can be killed.");
        }

        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
        _process = null;
    }

    /// <summary>Starts the stopped database again on the same data directory and the same port.</summary>
    public void Start()
    {
        if (IsExternal || _dataDir is null || _process is not null)
        {
            throw new InvalidOperationException("Start follows Stop.");
        }

        (_process, _) = Start(_dataDir, _withVector, Port);
    }

    public string UriWithPassword(string password) => Uri.Replace($":{Password}@", $":{password}@", StringComparison.Ordinal);

    public void Dispose()
    {
        Stop(_process);
        _process = null;
        if (_dataDir is not null)
        {
            DeleteDirectory(_dataDir);
        }
    }

    private static string ToolDirectory
    {
        get
        {
            string dir = Path.Combine(TestPaths.RepoRoot, "tools", "pglite");
            if (!Directory.Exists(Path.Combine(dir, "node_modules", "@electric-sql", "pglite-pgvector")))
            {
                Run("npm", "ci --no-audit --no-fund --legacy-peer-deps", dir);
            }

            return dir;
        }
    }

    /// <summary>
    /// The template data directory, made by initdb once and kept in tools/pglite/node_modules (which npm ci replaces when
    /// PGlite changes, so a template never outlives its PGlite), never in the temp folder. Made under a private name and
    /// renamed into place, so test processes starting together do not see each other's half-made template.
    /// </summary>
    private static string CreateTemplate()
    {
        RemoveLeftovers();
        string dir = Path.Combine(ToolDirectory, "node_modules", ".omnivec-template");
        if (File.Exists(Path.Combine(dir, "PG_VERSION")))
        {
            return dir;
        }

        string making = $"{dir}-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            (Process process, _) = Start(making, withVector: true, 0);
            Stop(process); // initdb ran at start; a clean stop leaves a reusable data directory
            try
            {
                Directory.Move(making, dir);
            }
            catch (IOException) when (File.Exists(Path.Combine(dir, "PG_VERSION")))
            {
                // Another test process put its template there first: the same thing, use it.
            }
        }
        finally
        {
            DeleteDirectory(making);
        }

        return dir;
    }

    /// <summary>
    /// Data directories of test processes that are gone (killed before their clean-up ran): their names carry the
    /// process id. Those of live processes (other test runs at the same time) are left alone.
    /// </summary>
    private static void RemoveLeftovers()
    {
        string templates = Path.Combine(ToolDirectory, "node_modules");
        IEnumerable<string> candidates = Directory.EnumerateDirectories(Path.GetTempPath(), "omnivec-pglite-*")
            .Concat(Directory.EnumerateDirectories(templates, ".omnivec-template-*"));
        foreach (string dir in candidates)
        {
            // omnivec-pglite-<pid>-…, omnivec-pglite-template-<pid>-… (older runs), .omnivec-template-<pid>-…
            string[] parts = Path.GetFileName(dir).Split('-');
            string pid = parts.Length > 3 && parts[2] == "template" ? parts[3] : parts.Length > 2 ? parts[2] : "";
            if (!int.TryParse(pid, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id) || IsAlive(id))
            {
                continue;
            }

            DeleteDirectory(dir);
        }
    }

    private static void DeleteDirectory(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using Process process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static (Process Process, int Port) Start(string dataDir, bool withVector, int port)
    {
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = ToolDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["server.mjs", "--data", dataDir, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--password", Password])
        {
            info.ArgumentList.Add(arg);
        }

        if (!withVector)
        {
            info.ArgumentList.Add("--no-vector");
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException("node did not start");
        var errors = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        // First start runs initdb inside WebAssembly: slow on a busy machine, so the wait is generous.
        Task<string?> line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromMinutes(10)) || line.Result is not { } text || !text.StartsWith("listening ", StringComparison.Ordinal))
        {
            Stop(process);
            lock (errors)
            {
                throw new InvalidOperationException($"PGlite did not start: {errors}");
            }
        }

        return (process, int.Parse(text["listening ".Length..], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void Stop(Process? process)
    {
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.StandardInput.Close(); // the server stops cleanly when its stdin closes
                if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                }
            }
        }
        finally
        {
            process.Dispose();
        }
    }

    private static void Run(string file, string args, string dir)
    {
        using Process p = Process.Start(new ProcessStartInfo(file, args) { WorkingDirectory = dir, UseShellExecute = false })!;
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {args} failed in {dir} (exit {p.ExitCode}).");
        }
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string dir in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, dir)));
        }

        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)));
        }
    }
}
