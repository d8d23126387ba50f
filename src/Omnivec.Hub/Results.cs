using Omnivec.Models;

namespace Omnivec.Hub;

/// <summary>A model available on disk: a snapshot folder holding the layout's files (symlinks into the blob store, or copies).</summary>
/// <param name="Model">The repository and revision that was asked for.</param>
/// <param name="Commit">The 40-hex commit the revision resolved to.</param>
/// <param name="Directory">Full path of snapshots/&lt;commit&gt;; load the model from here.</param>
/// <param name="Files">The files chosen for the requested variant (relative to <paramref name="Directory"/>).</param>
/// <param name="FromCache">True when nothing had to be downloaded.</param>
public sealed record ModelSnapshot(ModelReference Model, string Commit, string Directory, ClipModelFiles Files, bool FromCache)
{
    /// <summary>Full path of the text encoder in the snapshot.</summary>
    public string TextModelPath => PathOf(Files.TextModel);

    /// <summary>Full path of the image encoder in the snapshot.</summary>
    public string VisionModelPath => PathOf(Files.VisionModel);

    /// <summary>Full path of a file of the snapshot given its '/'-separated relative path.</summary>
    public string PathOf(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        return Path.Combine(Directory, relativePath.Replace('/', Path.DirectorySeparatorChar));
    }
}

/// <summary>One snapshot of a cached repository.</summary>
/// <param name="Commit">The snapshot's commit hash (its folder name).</param>
/// <param name="Refs">Branch or tag names whose ref points at this commit (e.g. main).</param>
/// <param name="Directory">Full path of the snapshot folder.</param>
/// <param name="Files">Relative paths of the files present (broken links left out).</param>
/// <param name="Layout">The CLIP layout the files form, or null when they form none.</param>
/// <param name="Variants">Variants whose files are both present.</param>
public sealed record CachedRevision(string Commit, IReadOnlyList<string> Refs, string Directory, IReadOnlyList<string> Files, ClipLayoutKind? Layout, IReadOnlyList<ModelVariant> Variants);

/// <summary>A repository in the cache.</summary>
/// <param name="RepoId">org/name.</param>
/// <param name="Directory">Full path of models--org--name.</param>
/// <param name="SizeOnDisk">Bytes of blobs plus snapshot files that are copies rather than links (partial downloads included).</param>
/// <param name="Revisions">Its snapshots, newest first.</param>
public sealed record CachedModelInfo(string RepoId, string Directory, long SizeOnDisk, IReadOnlyList<CachedRevision> Revisions)
{
    /// <summary>The layout of the newest snapshot that forms one, or null.</summary>
    public ClipLayoutKind? Layout => Revisions.FirstOrDefault(r => r.Layout is not null)?.Layout;
}

/// <summary>Download progress, reported at most about ten times a second and once when each file completes.</summary>
/// <param name="File">Relative path of the file being downloaded.</param>
/// <param name="BytesDownloaded">Bytes of this file on disk so far (a resumed download starts above zero).</param>
/// <param name="TotalBytes">Size of this file, when the Hub said.</param>
/// <param name="BytesPerSecond">Recent transfer rate over the whole pull.</param>
/// <param name="EstimatedRemaining">Time left for the whole pull at that rate, when sizes are known.</param>
/// <param name="FilesCompleted">Files of the pull already in place (cached ones included).</param>
/// <param name="FileCount">Files the pull needs.</param>
/// <param name="OverallBytesDownloaded">Bytes of the whole pull in place so far.</param>
/// <param name="OverallTotalBytes">Bytes of the whole pull, when every size is known.</param>
public sealed record DownloadProgress(
    string File,
    long BytesDownloaded,
    long? TotalBytes,
    double BytesPerSecond,
    TimeSpan? EstimatedRemaining,
    int FilesCompleted,
    int FileCount,
    long OverallBytesDownloaded,
    long? OverallTotalBytes);
