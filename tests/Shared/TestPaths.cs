namespace Omnivec.Tests;

/// <summary>Locates the repository, its committed test corpus and fixtures from a test's bin folder.</summary>
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

    /// <summary>
    /// The committed test media, tests/fixtures/corpus: photos, format samples, malformed files and CLIP tokenizer data
    /// (its README says how it was chosen, its SOURCES.md where each file comes from).
    /// </summary>
    public static string Corpus => Path.Combine(Fixtures, "corpus");

    public static string CorpusFile(params string[] parts) => Path.Combine([Corpus, .. parts]);

    /// <summary>Every photo of the corpus (images/photos without its CAPTIONS.tsv), sorted by name.</summary>
    public static string[] CorpusPhotos() =>
        Directory.GetFiles(CorpusFile("images", "photos"))
            .Where(f => !f.EndsWith(".tsv", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>Committed fixtures made by tools/ (test models and reference embeddings).</summary>
    public static string Fixtures => Path.Combine(RepoRoot, "tests", "fixtures");
}
