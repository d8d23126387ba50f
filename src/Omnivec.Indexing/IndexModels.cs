namespace Omnivec.Indexing;

/// <summary>How a folder is indexed.</summary>
public sealed class FolderIndexOptions
{
    /// <summary>Descend into sub-folders (the default).</summary>
    public bool Recursive { get; set; } = true;

    /// <summary>Files embedded and committed together; a kill loses at most one batch of work, never committed items.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Files larger than this are reported and skipped.</summary>
    public long MaxFileBytes { get; set; } = 256L << 20;

    /// <summary>Remove items whose files are gone from the folder (the default).</summary>
    public bool RemoveMissing { get; set; } = true;

    /// <summary>
    /// After a complete run, save the search snapshot and (for large collections) build the approximate index, so the
    /// first search afterwards starts fast. On by default.
    /// </summary>
    public bool OptimizeWhenDone { get; set; } = true;

    /// <summary>Index video files too (one item per segment; needs FFmpeg). On by default.</summary>
    public bool IndexVideos { get; set; } = true;

    /// <summary>How videos are segmented and sampled.</summary>
    public Omnivec.Media.VideoSegmenterOptions Video { get; set; } = new();

    /// <summary>Where FFmpeg is and the limits on each video (frame size, duration, stalls).</summary>
    public Omnivec.Media.FfmpegOptions Ffmpeg { get; set; } = new();

    /// <summary>Videos larger than this are reported and skipped (they are streamed, never read whole; default 64 GiB).</summary>
    public long MaxVideoBytes { get; set; } = 64L << 30;

    /// <summary>Videos longer than this many seconds are reported and skipped; null for no limit beyond <see cref="Ffmpeg"/>'s.</summary>
    public double? MaxVideoDurationSec { get; set; }
}

/// <summary>A snapshot of a running index job, reported after every batch.</summary>
public sealed record FolderIndexProgress(
    int FilesTotal, int FilesDone, int Embedded, int Unchanged, int Failed, double FilesPerSecond, TimeSpan? Eta, string? CurrentFile);

/// <summary>A file that could not be indexed, and why.</summary>
public sealed record IndexFailure(string Path, string Reason);

/// <summary>What an index run did.</summary>
public sealed record FolderIndexReport(
    int FilesSeen, int Added, int Updated, int Unchanged, int Removed, IReadOnlyList<IndexFailure> Failures, TimeSpan Elapsed, bool Cancelled)
{
    /// <summary>Messages about the whole run (e.g. videos skipped because FFmpeg is not installed), one line each.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Files embedded in this run (added plus updated).</summary>
    public int Embedded => Added + Updated;
}
