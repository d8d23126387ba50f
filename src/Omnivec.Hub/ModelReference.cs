using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Omnivec.Hub;

/// <summary>A Hub model repository at a revision (branch, tag or commit hash), written <c>org/name[@revision]</c>.</summary>
public sealed partial record ModelReference
{
    /// <summary>The revision used when none is given.</summary>
    public const string DefaultRevision = "main";

    /// <summary>Creates a reference to <paramref name="repoId"/> (<c>owner/name</c>) at <paramref name="revision"/> (a branch, tag or commit).</summary>
    public ModelReference(string repoId, string revision = DefaultRevision)
    {
        if (!IsValidRepoId(repoId))
        {
            throw new ModelConfigurationException(
                $"'{repoId}' is not a Hugging Face repo id; expected org/name (letters, digits, '-', '_', '.'; e.g. {HubDefaults.DefaultModel}).");
        }

        if (string.IsNullOrWhiteSpace(revision) || revision.Contains("..", StringComparison.Ordinal) || revision.StartsWith('/') || revision.EndsWith('/')
            || revision.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '\\'))
        {
            throw new ModelConfigurationException($"'{revision}' is not a valid revision (a branch, tag or commit hash).");
        }

        RepoId = repoId;
        Revision = revision;
    }

    /// <summary>The repository id, <c>owner/name</c>.</summary>
    public string RepoId { get; }

    /// <summary>The branch, tag or commit; <c>main</c> unless given.</summary>
    public string Revision { get; }

    /// <summary>True when <see cref="Revision"/> is a full 40-hex commit hash, which never moves.</summary>
    public bool IsCommitHash => CommitHashRegex().IsMatch(Revision);

    /// <summary>The cache folder name huggingface_hub uses: models--org--name.</summary>
    public string CacheFolderName => "models--" + RepoId.Replace("/", "--", StringComparison.Ordinal);

    /// <summary>Parses <c>org/name</c> or <c>org/name@revision</c>.</summary>
    /// <exception cref="ModelConfigurationException">Not of that form.</exception>
    public static ModelReference Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string trimmed = text.Trim();
        int at = trimmed.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? new ModelReference(trimmed) : new ModelReference(trimmed[..at], trimmed[(at + 1)..]);
    }

    /// <summary>Parses <c>owner/name</c> or <c>owner/name@revision</c>; false for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out ModelReference? reference)
    {
        reference = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        try
        {
            reference = Parse(text);
            return true;
        }
        catch (ModelConfigurationException)
        {
            return false;
        }
    }

    /// <summary>Repo ids as the Hub accepts them: one '/', names of [A-Za-z0-9_.-] up to 96 chars, no '--' or '..', not ending in .git.</summary>
    public static bool IsValidRepoId([NotNullWhen(true)] string? repoId) =>
        repoId is not null
        && RepoIdRegex().IsMatch(repoId)
        && !repoId.Contains("--", StringComparison.Ordinal)
        && !repoId.Contains("..", StringComparison.Ordinal)
        && !repoId.EndsWith(".git", StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => Revision == DefaultRevision ? RepoId : $"{RepoId}@{Revision}";

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,96}/[A-Za-z0-9_.-]{1,96}$", RegexOptions.CultureInvariant)]
    private static partial Regex RepoIdRegex();

    [GeneratedRegex("^[0-9a-f]{40}$", RegexOptions.CultureInvariant)]
    internal static partial Regex CommitHashRegex();
}

/// <summary>What a <c>--model</c> argument names: a local model folder or a Hub repository.</summary>
public sealed record ModelSource
{
    private ModelSource(string? localDirectory, ModelReference? repository)
    {
        LocalDirectory = localDirectory;
        Repository = repository;
    }

    /// <summary>Full path of the local folder, when the argument named one.</summary>
    public string? LocalDirectory { get; }

    /// <summary>The Hub repository, when the argument was a repo id.</summary>
    public ModelReference? Repository { get; }

    /// <summary>True when the argument named a local folder (<see cref="LocalDirectory"/>), false for a Hub repository.</summary>
    [MemberNotNullWhen(true, nameof(LocalDirectory))]
    [MemberNotNullWhen(false, nameof(Repository))]
    public bool IsLocal => LocalDirectory is not null;

    /// <summary>
    /// An existing directory wins (so a folder that happens to be called org/name is used as is); otherwise
    /// <c>org/name[@revision]</c> is a repo id; anything else is an error that says which was expected.
    /// </summary>
    /// <exception cref="ModelConfigurationException">Neither an existing folder nor a repo id.</exception>
    public static ModelSource Resolve(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            throw new ModelConfigurationException($"No model given; pass a model folder or a Hugging Face repo id such as {HubDefaults.DefaultModel}.");
        }

        string expanded = trimmed == "~" || trimmed.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), trimmed.TrimStart('~').TrimStart('/'))
            : trimmed;
        if (Directory.Exists(expanded))
        {
            return new ModelSource(Path.GetFullPath(expanded), null);
        }

        if (File.Exists(expanded))
        {
            throw new ModelConfigurationException($"'{trimmed}' is a file; --model takes the folder that holds the model files, or a Hugging Face repo id.");
        }

        bool looksLikePath = trimmed.StartsWith('.') || trimmed.StartsWith('/') || trimmed.StartsWith('~') || trimmed.Contains('\\', StringComparison.Ordinal)
            || (trimmed.Length > 1 && trimmed[1] == ':') || trimmed.Split('@')[0].Count(c => c == '/') > 1;
        if (!looksLikePath && ModelReference.TryParse(trimmed, out ModelReference? reference))
        {
            return new ModelSource(null, reference);
        }

        throw new ModelConfigurationException(looksLikePath
            ? $"Model folder not found: '{trimmed}' (full path {Path.GetFullPath(expanded)}). Pass an existing folder or a Hugging Face repo id such as {HubDefaults.DefaultModel}."
            : $"'{trimmed}' is neither an existing folder nor a Hugging Face repo id of the form org/name[@revision] (e.g. {HubDefaults.DefaultModel}).");
    }

    /// <inheritdoc />
    public override string ToString() => IsLocal ? LocalDirectory : Repository.ToString();
}
