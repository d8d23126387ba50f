using Omnivec.Models;

namespace Omnivec.Hub;

/// <summary>
/// The huggingface_hub cache layout: models--org--name/{blobs/&lt;etag&gt;, snapshots/&lt;commit&gt;/&lt;path&gt; → ../../blobs/&lt;etag&gt;,
/// refs/&lt;revision&gt;}, with download locks in .locks/models--org--name/&lt;etag&gt;.lock as current huggingface_hub puts them,
/// so Python and Omnivec processes exclude each other. No network here.
/// </summary>
internal sealed class HubCache(string root)
{
    private const string RepoPrefix = "models--";

    public string Root { get; } = Path.GetFullPath(root);

    public string RepoDirectory(ModelReference model) => Path.Combine(Root, model.CacheFolderName);

    public static string BlobPath(string repoDirectory, string etag) => Path.Combine(repoDirectory, "blobs", etag);

    public static string SnapshotDirectory(string repoDirectory, string commit) => Path.Combine(repoDirectory, "snapshots", commit);

    public static string PointerPath(string snapshotDirectory, string relativePath) =>
        Path.Combine(snapshotDirectory, relativePath.Replace('/', Path.DirectorySeparatorChar));

    public string LockPath(ModelReference model, string etag) => Path.Combine(Root, ".locks", model.CacheFolderName, etag + ".lock");

    /// <summary>The commit a revision stands for: itself when it is a commit hash, else the content of refs/&lt;revision&gt;.</summary>
    public string? ResolveCommit(ModelReference model)
    {
        if (model.IsCommitHash)
        {
            return model.Revision;
        }

        string refPath = Path.Combine(RepoDirectory(model), "refs", model.Revision.Replace('/', Path.DirectorySeparatorChar));
        try
        {
            if (!File.Exists(refPath))
            {
                return null;
            }

            string commit = File.ReadAllText(refPath).Trim();
            return ModelReference.CommitHashRegex().IsMatch(commit) ? commit : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Points refs/&lt;revision&gt; at <paramref name="commit"/> (atomic replace); nothing for a commit-hash revision.</summary>
    public void WriteRef(ModelReference model, string commit)
    {
        if (string.Equals(model.Revision, commit, StringComparison.Ordinal))
        {
            return;
        }

        string refPath = Path.Combine(RepoDirectory(model), "refs", model.Revision.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(refPath)!);
        string temp = refPath + "." + Guid.NewGuid().ToString("N") + ".tmp";
        // huggingface_hub writes the bare hash without a newline; so do we.
        File.WriteAllText(temp, commit);
        File.Move(temp, refPath, overwrite: true);
    }

    /// <summary>The complete snapshot for the revision and variant, or null when anything is missing.</summary>
    public ModelSnapshot? TryGetSnapshot(ModelReference model, ModelVariant variant)
    {
        string? commit = ResolveCommit(model);
        if (commit is null)
        {
            return null;
        }

        string snapshot = SnapshotDirectory(RepoDirectory(model), commit);
        if (!Directory.Exists(snapshot))
        {
            return null;
        }

        try
        {
            ClipModelFiles files = ClipModelLayout.Select(PresentFiles(snapshot), variant);
            return new ModelSnapshot(model, commit, snapshot, files, FromCache: true);
        }
        catch (ModelConfigurationException)
        {
            return null;
        }
    }

    /// <summary>Files of a snapshot whose link resolves (a link to a deleted blob does not count).</summary>
    public static List<string> PresentFiles(string snapshotDirectory) =>
        ClipModelLayout.ListFiles(snapshotDirectory)
            .Where(f => ResolvesToFile(PointerPath(snapshotDirectory, f)))
            .ToList();

    /// <summary>True for a regular file or a symlink whose final target is one (File.Exists is true for dangling links on Unix).</summary>
    public static bool ResolvesToFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return false;
        }

        if (info.LinkTarget is null)
        {
            return true;
        }

        try
        {
            return info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true };
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Makes snapshots/&lt;commit&gt;/&lt;path&gt; a relative symlink to the blob (a copy where symlinks are not allowed).
    /// The link is made under a temporary name and renamed into place, so readers never see a half-made file.
    /// </summary>
    public static void Link(string blobPath, string pointerPath)
    {
        if (ResolvesToFile(pointerPath))
        {
            return;
        }

        string directory = Path.GetDirectoryName(pointerPath)!;
        Directory.CreateDirectory(directory);
        string temp = pointerPath + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            try
            {
                File.CreateSymbolicLink(temp, Path.GetRelativePath(directory, blobPath));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException && !HubErrors.IsDiskFull(e))
            {
                // Windows without Developer Mode, or a file system without links: keep a copy, as huggingface_hub does.
                File.Copy(blobPath, temp, overwrite: true);
            }

            File.Move(temp, pointerPath, overwrite: true);
        }
        finally
        {
            // Gone after a successful move; removes a dangling temporary link after a failure.
            File.Delete(temp);
        }
    }

    public IReadOnlyList<CachedModelInfo> List()
    {
        if (!Directory.Exists(Root))
        {
            return [];
        }

        var result = new List<CachedModelInfo>();
        foreach (string repoDir in Directory.EnumerateDirectories(Root, RepoPrefix + "*").Order(StringComparer.Ordinal))
        {
            string folder = Path.GetFileName(repoDir);
            string[] parts = folder[RepoPrefix.Length..].Split("--");
            if (parts.Length != 2)
            {
                continue;
            }

            string repoId = parts[0] + "/" + parts[1];
            var refs = ReadRefs(repoDir);
            var revisions = new List<CachedRevision>();
            long size = 0;
            string blobs = Path.Combine(repoDir, "blobs");
            if (Directory.Exists(blobs))
            {
                size += new DirectoryInfo(blobs).EnumerateFiles().Where(f => !f.Name.EndsWith(".lock", StringComparison.Ordinal)).Sum(f => f.Length);
            }

            string snapshots = Path.Combine(repoDir, "snapshots");
            if (Directory.Exists(snapshots))
            {
                foreach (var snap in new DirectoryInfo(snapshots).EnumerateDirectories().OrderByDescending(d => d.LastWriteTimeUtc))
                {
                    List<string> files = PresentFiles(snap.FullName);
                    foreach (string f in files)
                    {
                        var info = new FileInfo(PointerPath(snap.FullName, f));
                        if (info.LinkTarget is null)
                        {
                            size += info.Length;
                        }
                    }

                    IReadOnlyList<ModelVariant> variants = ClipModelLayout.AvailableVariants(files);
                    ClipLayoutKind? layout = variants.Count > 0 ? ClipModelLayout.Select(files, variants[0]).Kind : null;
                    revisions.Add(new CachedRevision(
                        snap.Name,
                        refs.Where(r => r.Value == snap.Name).Select(r => r.Key).Order(StringComparer.Ordinal).ToList(),
                        snap.FullName,
                        files.Order(StringComparer.Ordinal).ToList(),
                        layout,
                        variants));
                }
            }

            result.Add(new CachedModelInfo(repoId, repoDir, size, revisions));
        }

        return result;
    }

    public bool Remove(string repoId)
    {
        if (!ModelReference.IsValidRepoId(repoId))
        {
            throw new ModelConfigurationException($"'{repoId}' is not a Hugging Face repo id (org/name).");
        }

        var model = new ModelReference(repoId);
        string repoDir = RepoDirectory(model);
        string locks = Path.Combine(Root, ".locks", model.CacheFolderName);
        if (Directory.Exists(locks))
        {
            Directory.Delete(locks, recursive: true);
        }

        if (!Directory.Exists(repoDir))
        {
            return false;
        }

        // Directory.Delete removes symlinks themselves, never what they point at.
        Directory.Delete(repoDir, recursive: true);
        return true;
    }

    private static Dictionary<string, string> ReadRefs(string repoDir)
    {
        var refs = new Dictionary<string, string>(StringComparer.Ordinal);
        string refsDir = Path.Combine(repoDir, "refs");
        if (!Directory.Exists(refsDir))
        {
            return refs;
        }

        foreach (string file in Directory.EnumerateFiles(refsDir, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith(".tmp", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                refs[Path.GetRelativePath(refsDir, file).Replace('\\', '/')] = File.ReadAllText(file).Trim();
            }
            catch (IOException)
            {
                // A ref being replaced right now; the listing is a best effort.
            }
        }

        return refs;
    }
}
