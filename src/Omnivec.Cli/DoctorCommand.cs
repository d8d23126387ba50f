using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Numerics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Microsoft.Data.Sqlite;
using Omnivec.Hub;
using Omnivec.Index;
using Omnivec.Models;

namespace Omnivec.Cli;

/// <summary>
/// <c>omnivec doctor</c>: one screen of what this machine has for omnivec (model, model cache, store, FFmpeg,
/// PostgreSQL, native libraries, CPU features) and what is missing, with what to do about it. Exit code 1 when
/// something is missing.
/// </summary>
internal static class DoctorCommand
{
    internal enum Status
    {
        Ok,
        Info,
        Warn,
        Missing,
    }

    internal sealed record Check(string Name, Status Status, string Detail);

    public static Command Create()
    {
        var model = new ModelOptions();
        var collection = new CollectionOptions();
        var command = new Command("doctor", "What omnivec finds on this machine (model, model cache, store, FFmpeg, PostgreSQL, native libraries, CPU) and what is missing.");
        model.AddTo(command);
        collection.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var checks = new List<Check>();
            string storeSetting = collection.StoreSetting(parse);
            checks.AddRange(CheckModel(parse.GetValue(model.Model) ?? ModelOptions.DefaultModel, model.GetVariant(parse)));
            checks.AddRange(await CheckStoreAsync(storeSetting, cancellationToken).ConfigureAwait(false));
            checks.AddRange(await CheckFfmpegAsync(cancellationToken).ConfigureAwait(false));
            checks.AddRange(CheckNativeLibraries());
            checks.Add(CheckCpu());

            Console.WriteLine($"omnivec {Version} on .NET {Environment.Version}, {RuntimeInformation.RuntimeIdentifier} ({RuntimeInformation.OSDescription.Trim()})");
            int width = checks.Max(c => c.Name.Length);
            foreach (Check check in checks)
            {
                Console.WriteLine($"  {Marker(check.Status),-9} {check.Name.PadRight(width)}  {check.Detail}");
            }

            Check[] missing = checks.Where(c => c.Status == Status.Missing).ToArray();
            Console.WriteLine(missing.Length == 0
                ? "Nothing missing."
                : $"{missing.Length} missing: {string.Join(", ", missing.Select(c => c.Name))}.");
            return missing.Length == 0 ? 0 : 1;
        });
        return command;
    }

    public static string Version =>
        typeof(DoctorCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";

    private static string Marker(Status status) => status switch
    {
        Status.Ok => "[ok]",
        Status.Info => "[-]",
        Status.Warn => "[warn]",
        _ => "[MISSING]",
    };

    internal static IEnumerable<Check> CheckModel(string model, ModelVariant variant)
    {
        HubOptions hub;
        try
        {
            hub = HubOptions.FromEnvironment();
        }
        catch (OmnivecException e)
        {
            return [new Check("model-cache", Status.Missing, e.Message)];
        }

        var checks = new List<Check>();
        string cache = hub.CacheDirectory;
        if (!Directory.Exists(cache))
        {
            checks.Add(new Check("model-cache", Status.Missing,
                $"{cache} does not exist: no model has been downloaded (set HF_HUB_CACHE or HF_HOME to use another cache)."));
        }
        else
        {
            using var client = new HubClient(hub);
            IReadOnlyList<CachedModelInfo> cached = client.ListCached();
            checks.Add(new Check("model-cache", cached.Count == 0 ? Status.Missing : Status.Ok, cached.Count == 0
                ? $"{cache} holds no model yet."
                : $"{cache}: {cached.Count} model{(cached.Count == 1 ? "" : "s")}, {Output.FormatBytes(cached.Sum(c => c.SizeOnDisk))} ({string.Join(", ", cached.Take(4).Select(c => c.RepoId))}{(cached.Count > 4 ? ", …" : "")})"));
        }

        string variantName = ClipModelLayout.VariantName(variant);
        try
        {
            ModelSource source = ModelSource.Resolve(model);
            if (source.IsLocal)
            {
                ClipModelFiles files = ClipModelLayout.SelectFromDirectory(source.LocalDirectory!, variant);
                checks.Add(new Check("model", Status.Ok, $"{source.LocalDirectory} ({files.Kind} layout, {variantName})"));
            }
            else
            {
                using var client = new HubClient(hub);
                ModelSnapshot? snapshot = Directory.Exists(cache) ? client.TryGetCached(source.Repository!, variant) : null;
                string fix = hub.Offline
                    ? "offline mode is on (HF_HUB_OFFLINE), so it cannot be downloaded: unset it once, or copy the model into the cache."
                    : $"the first index or search downloads it, or run: omnivec models pull {source.Repository} --variant {variantName}";
                checks.Add(snapshot is not null
                    ? new Check("model", Status.Ok, $"{source.Repository} ({variantName}) in the cache: {snapshot.Directory}")
                    : new Check("model", Status.Missing, $"{source.Repository} ({variantName}) is not in the cache; {fix}"));
            }
        }
        catch (OmnivecException e)
        {
            checks.Add(new Check("model", Status.Missing, $"{model}: {e.Message}"));
        }

        return checks;
    }

    internal static async Task<IEnumerable<Check>> CheckStoreAsync(string store, CancellationToken cancellationToken)
    {
        if (store.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || store.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return [await CheckPostgresAsync(store, cancellationToken).ConfigureAwait(false)];
        }

        var checks = new List<Check>();
        string root = Path.GetFullPath(store);
        if (!Directory.Exists(root))
        {
            checks.Add(new Check("store", Status.Ok, $"{root} (created by the first index; no collections yet)"));
        }
        else
        {
            try
            {
                IReadOnlyList<CollectionInfo> collections = new CollectionStore(root).List();
                string probe = Path.Combine(root, ".omnivec-doctor-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
                bool writable;
                try
                {
                    File.WriteAllBytes(probe, []);
                    File.Delete(probe);
                    writable = true;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    writable = false;
                }

                string list = collections.Count == 0 ? "no collections" : string.Join(", ", collections.Take(5).Select(c =>
                    string.Create(CultureInfo.InvariantCulture, $"{c.Name} ({c.Count:N0} items, {c.Space.ModelId})")));
                checks.Add(new Check("store", writable ? Status.Ok : Status.Missing, $"{root}: {list}{(writable ? "" : "; NOT writable: index and uploads will fail")}"));
            }
            catch (Exception e) when (e is OmnivecException or IOException or UnauthorizedAccessException)
            {
                checks.Add(new Check("store", Status.Missing, $"{root}: {e.Message}"));
            }
        }

        checks.Add(new Check("postgresql", Status.Info, "no postgresql:// store configured (collections are SQLite files in the store folder)"));
        return checks;
    }

    private static async Task<Check> CheckPostgresAsync(string connection, CancellationToken cancellationToken)
    {
        // Never print the password.
        if (!Uri.TryCreate(connection, UriKind.Absolute, out Uri? uri) || string.IsNullOrEmpty(uri.Host))
        {
            return new Check("postgresql", Status.Missing, "the store is not a valid postgresql://user@host:port/database URL");
        }

        int port = uri.Port > 0 ? uri.Port : 5432;
        string shown = $"postgresql://{uri.Host}:{port}{uri.AbsolutePath}";
        try
        {
            using var client = new TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await client.ConnectAsync(uri.Host, port, timeout.Token).ConfigureAwait(false);
            return new Check("postgresql", Status.Warn, $"{shown} accepts connections, but this build of omnivec has no PostgreSQL store: use a folder for --store");
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new Check("postgresql", Status.Missing, $"{shown} does not accept connections ({(e is SocketException s ? s.SocketErrorCode.ToString() : "timed out")}); and this build has no PostgreSQL store");
        }
    }

    internal static async Task<IEnumerable<Check>> CheckFfmpegAsync(CancellationToken cancellationToken)
    {
        var checks = new List<Check>();
        foreach ((string tool, string variable) in new[] { ("ffmpeg", "OMNIVEC_FFMPEG"), ("ffprobe", "OMNIVEC_FFPROBE") })
        {
            string? configured = Environment.GetEnvironmentVariable(variable) is { Length: > 0 } v ? v : null;
            string? path = configured is not null ? (File.Exists(configured) ? Path.GetFullPath(configured) : FindOnPath(configured)) : FindOnPath(tool);
            if (path is null)
            {
                checks.Add(new Check(tool, Status.Missing, configured is not null
                    ? $"{variable}={configured} does not exist: video files cannot be indexed."
                    : $"not found on PATH (nor {variable}): video files cannot be indexed or embedded; images work. Install FFmpeg (apt install ffmpeg, brew install ffmpeg, winget install ffmpeg) or set {variable}."));
                continue;
            }

            string? version = await FirstLineAsync(path, "-version", cancellationToken).ConfigureAwait(false);
            checks.Add(version is not null
                ? new Check(tool, Status.Ok, $"{path} ({version})")
                : new Check(tool, Status.Missing, $"{path} does not run (-version failed)."));
        }

        return checks;
    }

    /// <summary>The first match of <paramref name="name"/> in the PATH folders (with PATHEXT on Windows).</summary>
    internal static string? FindOnPath(string name)
    {
        if (name.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) || name.Contains(Path.AltDirectorySeparatorChar, StringComparison.Ordinal))
        {
            return File.Exists(name) ? Path.GetFullPath(name) : null;
        }

        string[] extensions = OperatingSystem.IsWindows()
            ? (Environment.GetEnvironmentVariable("PATHEXT") ?? ".EXE").Split(';', StringSplitOptions.RemoveEmptyEntries)
            : [""];
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string extension in extensions)
            {
                string candidate = Path.Combine(folder, name + extension);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static async Task<string?> FirstLineAsync(string file, string argument, CancellationToken cancellationToken)
    {
        try
        {
            var info = new ProcessStartInfo(file, argument) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using Process process = Process.Start(info)!;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            Task<string> stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            string? first = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }

            await stderr.ConfigureAwait(false);
            return process.ExitCode == 0 && !string.IsNullOrWhiteSpace(first) ? first.Trim() : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static IEnumerable<Check> CheckNativeLibraries()
    {
        yield return Probe("onnxruntime", () => "ONNX Runtime " + Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString() + " (local models)");
        yield return Probe("skiasharp", () => "SkiaSharp " + SkiaSharp.SkiaSharpVersion.Native + " (JPEG, PNG, WebP, GIF, BMP)");
        yield return Probe("magick.net", () =>
            string.Join(' ', ImageMagick.MagickNET.ImageMagickVersion.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(3)) + " (HEIC, AVIF, TIFF, PSD, …)");
        yield return Probe("sqlite", () =>
        {
            using var connection = new SqliteConnection("Data Source=:memory:");
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "select sqlite_version()";
            return "SQLite " + command.ExecuteScalar() + " (the store)";
        });
    }

    private static Check Probe(string name, Func<string> load)
    {
        try
        {
            return new Check(name, Status.Ok, load());
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or BadImageFormatException or EntryPointNotFoundException or InvalidOperationException)
        {
            Exception inner = e is TypeInitializationException { InnerException: { } i } ? i : e;
            return new Check(name, Status.Missing, $"native library does not load on {RuntimeInformation.RuntimeIdentifier}: {inner.Message}");
        }
    }

    internal static Check CheckCpu()
    {
        var features = new List<string>();
        if (RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86)
        {
            features.Add("AVX2 " + YesNo(Avx2.IsSupported));
            features.Add("FMA " + YesNo(Fma.IsSupported));
            features.Add("AVX-512F " + YesNo(Avx512F.IsSupported));
        }
        else if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
        {
            features.Add("AdvSIMD " + YesNo(AdvSimd.IsSupported));
            features.Add("dot product " + YesNo(Dp.IsSupported));
        }

        string detail = string.Create(CultureInfo.InvariantCulture,
            $"{RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores, {string.Join(", ", features)}; Vector<float> {Vector<float>.Count} lanes, 512-bit vectors {(Vector512.IsHardwareAccelerated ? "accelerated" : "not accelerated")}");
        bool slow = RuntimeInformation.ProcessArchitecture == Architecture.X64 && !(Avx2.IsSupported && Fma.IsSupported);
        return new Check("cpu", slow ? Status.Warn : Status.Ok, slow ? detail + " (no AVX2/FMA: search and models run much slower)" : detail);
    }

    private static string YesNo(bool value) => value ? "yes" : "no";
}
