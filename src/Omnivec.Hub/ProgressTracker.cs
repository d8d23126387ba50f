using System.Diagnostics;

namespace Omnivec.Hub;

/// <summary>Aggregates byte counts of a pull into <see cref="DownloadProgress"/> reports, at most ten a second.</summary>
internal sealed class ProgressTracker
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(100);
    private readonly IProgress<DownloadProgress>? _sink;
    private readonly int _fileCount;
    private readonly long? _overallTotal;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _lastReport;
    private TimeSpan _lastRateSample;
    private long _fetchedAtLastSample;
    private double _rate;
    private long _completedBytes;
    private int _filesCompleted;

    public ProgressTracker(IProgress<DownloadProgress>? sink, IReadOnlyList<RepoFile> files)
    {
        _sink = sink;
        _fileCount = files.Count;
        _overallTotal = files.All(f => f.Size is not null) ? files.Sum(f => f.Size!.Value) : null;
    }

    /// <summary>Bytes received from the network during this pull.</summary>
    public long BytesFetched { get; private set; }

    /// <summary>Files that had to be downloaded (not merely linked from an existing blob).</summary>
    public int FilesDownloaded { get; private set; }

    public void Advance(string file, long done, long? total, int delta)
    {
        BytesFetched += delta;
        if (_lastReport is not TimeSpan last || _clock.Elapsed - last >= s_interval)
        {
            Report(file, done, total);
        }
    }

    public void FileDone(string file, long size, bool downloaded)
    {
        _filesCompleted++;
        _completedBytes += size;
        if (downloaded)
        {
            FilesDownloaded++;
        }

        Report(file, size, size, currentIsCompleted: true);
    }

    private void Report(string file, long done, long? total, bool currentIsCompleted = false)
    {
        TimeSpan now = _clock.Elapsed;
        _lastReport = now;
        double seconds = (now - _lastRateSample).TotalSeconds;
        if (seconds >= 0.25)
        {
            // Smoothed rate, so the ETA does not jump with every packet.
            double instant = (BytesFetched - _fetchedAtLastSample) / seconds;
            _rate = _rate == 0 ? instant : (0.7 * _rate) + (0.3 * instant);
            _lastRateSample = now;
            _fetchedAtLastSample = BytesFetched;
        }

        if (_sink is null)
        {
            return;
        }

        long overallDone = _completedBytes + (currentIsCompleted ? 0 : done);
        TimeSpan? eta = _overallTotal is long all && _rate > 1
            ? TimeSpan.FromSeconds(Math.Max(0, all - overallDone) / _rate)
            : null;
        _sink.Report(new DownloadProgress(file, done, total, _rate, eta, _filesCompleted, _fileCount, overallDone, _overallTotal));
    }
}
