using System.Reflection;
using System.Runtime.InteropServices;
using Omnivec.Onnx;
using Omnivec.Tests;

namespace Omnivec.Packaging.Tests;

/// <summary>
/// Packs the solution's packages once per test run (from the Release build, no rebuild) into a temporary feed,
/// installs the tool from it, and builds the sample against it. Everything lives in one temporary folder that is
/// deleted afterwards; the packages get a version of their own so no NuGet cache can hand back an older build.
/// </summary>
public sealed class PackedFixture : IAsyncLifetime
{
    private static readonly TimeSpan s_slow = TimeSpan.FromMinutes(15);

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "omnivec-packaging-" + Guid.NewGuid().ToString("N")[..12]);
    public string Feed => Path.Combine(Root, "feed");
    public string ToolDirectory => Path.Combine(Root, "tools");
    public string Tool => Path.Combine(ToolDirectory, OperatingSystem.IsWindows() ? "omnivec.exe" : "omnivec");
    public string SampleDirectory => Path.Combine(Root, "sample");

    /// <summary>The sample's built program.</summary>
    public string SampleDll => Path.Combine(SampleDirectory, "bin", "Release", "net10.0", RuntimeInformation.RuntimeIdentifier, "IndexAndSearch.dll");

    /// <summary>The informational version the solution was built with (version + commit), as <c>--version</c> should print it.</summary>
    public string BuiltVersion { get; } = typeof(ClipEmbeddingGenerator).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

    /// <summary>The package version: the built version plus a suffix unique to this run.</summary>
    public string PackageVersion { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        string prefix = BuiltVersion.Split('+')[0];
        PackageVersion = $"{prefix}{(prefix.Contains('-', StringComparison.Ordinal) ? "." : "-")}packagingtest.{DateTime.UtcNow:yyyyMMddHHmmss}";

        await Run.DotnetAsync(TestPaths.RepoRoot, s_slow, "pack", Path.Combine(TestPaths.RepoRoot, "Omnivec.slnx"), "-c", "Release", "--no-build",
            "-o", Feed, "-p:PackageVersion=" + PackageVersion, "--disable-build-servers", "-nodeReuse:false");

        // A nuget.config of our own beside the sample: the temporary feed added to the machine's sources (kept, so
        // the third-party packages still restore from wherever this machine gets them).
        await File.WriteAllTextAsync(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="omnivec-packaging-test" value="{Feed}" />
              </packageSources>
            </configuration>
            """);

        await Run.DotnetAsync(Root, s_slow, "tool", "install", "--tool-path", ToolDirectory, "--add-source", Feed, "omnivec", "--version", PackageVersion);

        Directory.CreateDirectory(SampleDirectory);
        foreach (string file in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "samples", "IndexAndSearch")))
        {
            File.Copy(file, Path.Combine(SampleDirectory, Path.GetFileName(file)));
        }

        // Omnivec packages go to a private packages folder (never into the user's cache); the third-party ones are
        // found in the user's cache, which the solution's restore has filled.
        string globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        // For this machine's platform only: a portable build would copy every platform's native libraries (~1 GB).
        await Run.DotnetAsync(SampleDirectory, s_slow, "build", "-c", "Release", "-p:OmnivecVersion=" + PackageVersion,
            "-p:RuntimeIdentifier=" + RuntimeInformation.RuntimeIdentifier, "-p:SelfContained=false",
            "-p:RestorePackagesPath=" + Path.Combine(Root, "packages"), "-p:RestoreFallbackFolders=" + globalPackages,
            "--disable-build-servers", "-nodeReuse:false");
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return Task.CompletedTask;
    }

    /// <summary>A fresh home for one run of the installed tool: no config, no collections, no model cache, no network.</summary>
    public Dictionary<string, string?> FreshHome(string name)
    {
        string home = Path.Combine(Root, "homes", name);
        Directory.CreateDirectory(home);
        return new Dictionary<string, string?>
        {
            ["HOME"] = home,
            ["USERPROFILE"] = home,
            ["OMNIVEC_HOME"] = Path.Combine(home, "omnivec"),
            ["XDG_CONFIG_HOME"] = Path.Combine(home, ".config"),
            ["XDG_DATA_HOME"] = Path.Combine(home, ".local", "share"),
            ["HF_HOME"] = Path.Combine(home, ".cache", "huggingface"),
            ["HF_HUB_CACHE"] = null,
            ["HF_HUB_OFFLINE"] = "1",
            ["OMNIVEC_MODEL"] = null,
            // The tool's launcher finds the runtime that runs these tests.
            ["DOTNET_ROOT"] = Run.DotnetRoot,
        };
    }

    internal Task<ProcessResult> ToolAsync(IDictionary<string, string?> environment, params string[] args) =>
        Run.ProcessAsync(Tool, args, Root, environment, TimeSpan.FromMinutes(5));
}

[CollectionDefinition(Name)]
public sealed class PackedCollection : ICollectionFixture<PackedFixture>
{
    public const string Name = "packed";
}
