namespace Omnivec.Tests;

/// <summary>Locates the repository and the shared test corpus (../shared/corpus beside the clone) from a test's bin folder.</summary>
internal static class TestPaths
{
    private static readonly Lazy<string> s_repoRoot = new(() =>
    {
        string? baked = typeof(TestPaths).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "OmnivecRepoRoot")?.Value;
        if (!string.IsNullOrEmpty(baked) && File.Exists(Path.Combine(baked, "Directory.Packages.props")))
        {
            return Path.GetFullPath(baked);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Repository root not found above " + AppContext.BaseDirectory);
    });

    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>The shared corpus: $OMNIVEC_CORPUS, else ../shared/corpus next to the repository.</summary>
    public static string Corpus
    {
        get
        {
            string? fromEnv = Environment.GetEnvironmentVariable("OMNIVEC_CORPUS");
            string path = !string.IsNullOrEmpty(fromEnv) ? fromEnv : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "corpus"));
            if (!Directory.Exists(path))
            {
                throw new DirectoryNotFoundException($"Test corpus not found at {path}; set OMNIVEC_CORPUS.");
            }

            return path;
        }
    }

    public static string CorpusFile(params string[] parts) => Path.Combine([Corpus, .. parts]);

    /// <summary>Committed fixtures made by tools/ (test models and reference embeddings).</summary>
    public static string Fixtures => Path.Combine(RepoRoot, "tests", "fixtures");
}
