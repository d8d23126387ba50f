using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace Omnivec.Onnx;

/// <summary>
/// ONNX Runtime's optimized form of a model, kept on disk so that the next process skips graph optimization and weight
/// prepacking and maps the weights instead of copying them: <c>model.onnx</c> (the optimized graph, small) beside
/// <c>model.data</c> (its weights, already prepacked for this CPU's kernels, at page-aligned offsets). A session over
/// it starts in a fraction of the time (docs/benchmarks.md, "Cold start").
/// </summary>
/// <remarks>
/// One folder per entry, named by the source file (path hash) and by everything the optimized form depends on: the
/// source's size, modification time and first and last MiB, the ONNX Runtime version, the CPU's instruction sets and
/// the optimization settings. An entry is written into a temporary folder and renamed into place once complete, so a
/// process never sees half an entry and concurrent writers do not collide (the first rename wins). Entries are never
/// changed in place, so a process that has mapped one is never pulled from under. Anything that goes wrong with the
/// cache (read-only or full disk, a damaged entry) falls back to loading the source model, silently: the cache only
/// ever costs the write of a new entry.
/// </remarks>
internal static class OptimizedModelCache
{
    internal const string ModelFile = "model.onnx";
    internal const string DataFile = "model.data";
    private const string TempMarker = ".tmp-";
    private const string SourceNote = "source";

    // Bump when the entry layout or the session settings it is written with change.
    private const int FormatVersion = 1;

    private static readonly Lazy<string> s_environment = new(DescribeEnvironment);

    /// <summary>What the cache did for one session (for tests and the start-up trace).</summary>
    internal enum Outcome
    {
        Disabled,
        Hit,
        Written,
        Unavailable,
    }

    /// <summary>
    /// A session over <paramref name="sourcePath"/>: from the cache entry when there is a usable one, else from the
    /// source (writing the entry when <paramref name="cacheRoot"/> is writable).
    /// </summary>
    /// <param name="sourcePath">The .onnx file.</param>
    /// <param name="cacheRoot">The cache folder, or null for no cache.</param>
    /// <param name="configure">Sets the options every session of the tower uses (threads, execution mode).</param>
    /// <param name="prepack">
    /// Whether the session repacks the weights for its kernels at load (<see cref="OnnxModelOptions.PrepackWeights"/>).
    /// A session that writes a new entry always does, since the entry keeps the repacked weights for later loads.
    /// </param>
    /// <param name="outcome">What the cache did.</param>
    /// <param name="entryPath">The entry the session came from or was written to, else null.</param>
    public static InferenceSession CreateSession(string sourcePath, string? cacheRoot, Action<SessionOptions> configure, bool prepack, out Outcome outcome, out string? entryPath)
    {
        entryPath = null;
        // The entry is written with the repacked weights whatever this session does, so that later loads can use them.
        Action<SessionOptions> configureWriter = configure;
        if (!prepack)
        {
            configure = WithoutPrepacking(configure);
        }

        if (string.IsNullOrEmpty(cacheRoot))
        {
            outcome = Outcome.Disabled;
            return CreateFromSource(sourcePath, configure, optimizedPath: null);
        }

        string entry;
        try
        {
            entry = Path.Combine(Path.GetFullPath(cacheRoot), EntryName(sourcePath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            outcome = Outcome.Unavailable;
            return CreateFromSource(sourcePath, configure, optimizedPath: null);
        }

        string cachedModel = Path.Combine(entry, ModelFile);
        if (File.Exists(cachedModel) && File.Exists(Path.Combine(entry, DataFile)))
        {
            try
            {
                using var options = new SessionOptions();
                configure(options);
                // Already optimized: running the optimizers again would only cost time.
                options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
                var session = new InferenceSession(cachedModel, options);
                outcome = Outcome.Hit;
                entryPath = entry;
                return session;
            }
            catch (OnnxRuntimeException)
            {
                // A damaged entry (truncated by a full disk, edited): drop it and write a new one below.
                TryDeleteDirectory(entry);
            }
        }

        string temp = entry + TempMarker + Guid.NewGuid().ToString("N");
        try
        {
            Directory.CreateDirectory(temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            outcome = Outcome.Unavailable;
            return CreateFromSource(sourcePath, configure, optimizedPath: null);
        }

        InferenceSession created;
        try
        {
            created = CreateFromSource(sourcePath, configureWriter, Path.Combine(temp, ModelFile));
        }
        catch (OnnxRuntimeException)
        {
            // Saving failed (a full disk) or the model does not load at all: without the cache, the source load says which.
            TryDeleteDirectory(temp);
            outcome = Outcome.Unavailable;
            return CreateFromSource(sourcePath, configure, optimizedPath: null);
        }

        // Which model file the entry stands for, so that a later writer can drop entries of models that are gone.
        WriteNote(temp, SourceNote, Path.GetFullPath(sourcePath));
        outcome = Publish(temp, entry) ? Outcome.Written : Outcome.Unavailable;
        // Another process may have published first: its entry is as good as ours.
        entryPath = Directory.Exists(entry) ? entry : null;
        return created;
    }

    /// <summary>
    /// A small fact about the model learnt at load (such as the text probe's verdict) kept in its entry, so later loads
    /// need not learn it again; null when the entry has none or cannot be read.
    /// </summary>
    public static string? ReadNote(string entry, string name)
    {
        try
        {
            string path = Path.Combine(entry, name + ".note");
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Keeps a fact in the entry (written whole, then renamed into place); failures are ignored.</summary>
    public static void WriteNote(string entry, string name, string value)
    {
        string path = Path.Combine(entry, name + ".note");
        string temp = path + TempMarker + Guid.NewGuid().ToString("N");
        try
        {
            File.WriteAllText(temp, value);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException)
            {
                // Nothing more to do: the note is optional.
            }
        }
    }

    /// <summary>The entry's folder name: the source's path hash, then the hash of everything the optimized form depends on.</summary>
    internal static string EntryName(string sourcePath)
    {
        string full = Path.GetFullPath(sourcePath);
        var file = new FileInfo(full);
        string content;
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(string.Join('\n',
                FormatVersion, file.Length, file.LastWriteTimeUtc.Ticks, OrtEnv.Instance().GetVersionString(), s_environment.Value, "all+prepacked")));
            Span<byte> buffer = new byte[1 << 20];
            using FileStream stream = File.OpenRead(full);
            ModelIdentity.AppendHeadAndTail(hash, stream, buffer);

            content = Convert.ToHexStringLower(hash.GetHashAndReset())[..24];
        }

        return PathPrefix(full) + "-" + content;
    }

    private static string PathPrefix(string fullPath) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(fullPath)))[..16];

    private static Action<SessionOptions> WithoutPrepacking(Action<SessionOptions> configure) => options =>
    {
        configure(options);
        options.AddSessionConfigEntry("session.disable_prepacking", "1");
    };

    private static InferenceSession CreateFromSource(string sourcePath, Action<SessionOptions> configure, string? optimizedPath)
    {
        using var options = new SessionOptions();
        configure(options);
        options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
        if (optimizedPath is not null)
        {
            options.OptimizedModelFilePath = optimizedPath;
            // Weights go to model.data beside the graph, at aligned offsets so that loading maps them; prepacked weights
            // too, so a load skips prepacking.
            options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", DataFile);
            options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
            options.AddSessionConfigEntry("session.save_external_prepacked_constant_initializers", "1");
            // ONNX Runtime warns that the saved form may hold hardware-specific optimizations: the entry's name carries
            // the CPU's instruction sets for that reason, so the warning would only alarm.
            options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
        }

        return new InferenceSession(sourcePath, options);
    }

    /// <summary>Renames the complete temporary folder into place; another process that got there first wins.</summary>
    private static bool Publish(string temp, string entry)
    {
        try
        {
            if (!File.Exists(Path.Combine(temp, ModelFile)) || !File.Exists(Path.Combine(temp, DataFile)))
            {
                // ONNX Runtime wrote everything inline (no weight big enough): a load would copy it like the source's.
                TryDeleteDirectory(temp);
                return false;
            }

            Directory.Move(temp, entry);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDeleteDirectory(temp);
            return false;
        }

        RemoveStale(entry);
        return true;
    }

    /// <summary>
    /// Removes the older entries of the same source file (a replaced model, an ONNX Runtime upgrade), entries whose model
    /// file no longer exists, and temporary folders that writers left behind more than an hour ago. A process that still
    /// maps a removed entry keeps its (unlinked) files until it exits.
    /// </summary>
    private static void RemoveStale(string entry)
    {
        try
        {
            string root = Path.GetDirectoryName(entry)!;
            string name = Path.GetFileName(entry);
            string prefix = name[..(name.IndexOf('-', StringComparison.Ordinal) + 1)];
            foreach (string other in Directory.EnumerateDirectories(root))
            {
                string otherName = Path.GetFileName(other);
                bool olderSibling = otherName.StartsWith(prefix, StringComparison.Ordinal) && otherName != name
                    && !otherName.Contains(TempMarker, StringComparison.Ordinal);
                bool temporary = otherName.Contains(TempMarker, StringComparison.Ordinal);
                bool abandoned = temporary && Directory.GetLastWriteTimeUtc(other) < DateTime.UtcNow.AddHours(-1);
                bool orphaned = !temporary && otherName != name && ReadNote(other, SourceNote) is { Length: > 0 } source && !File.Exists(source);
                if (olderSibling || abandoned || orphaned)
                {
                    TryDeleteDirectory(other);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Tidying is optional.
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next writer's tidy-up.
        }
    }

    /// <summary>What the prepacked weights depend on besides the model: the architecture and the instruction sets ONNX Runtime's kernels pick from.</summary>
    private static string DescribeEnvironment()
    {
        var parts = new List<string> { System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString() };
        if (X86Base.IsSupported)
        {
            parts.Add(string.Concat(
                Avx.IsSupported ? "avx " : "", Avx2.IsSupported ? "avx2 " : "", Fma.IsSupported ? "fma " : "",
                Avx512F.IsSupported ? "avx512f " : "", Avx512BW.IsSupported ? "avx512bw " : "", Avx512Vbmi.IsSupported ? "avx512vbmi " : "",
                AvxVnni.IsSupported ? "avxvnni " : "", Avx10v1.IsSupported ? "avx10v1 " : ""));
        }
        else if (AdvSimd.IsSupported)
        {
            parts.Add(string.Concat("neon ", Dp.IsSupported ? "dp " : "", Rdm.IsSupported ? "rdm " : ""));
        }

        try
        {
            // Same instruction sets, another microarchitecture: kernels can still differ (e.g. AMX, Zen vs Intel tuning).
            if (File.Exists("/proc/cpuinfo"))
            {
                parts.Add(File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) ?? "");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The instruction sets alone then.
        }

        return string.Join('|', parts);
    }
}
