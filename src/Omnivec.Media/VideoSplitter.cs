using System.Globalization;
using System.Runtime.CompilerServices;

namespace Omnivec.Media;

/// <summary>Limits for <see cref="VideoSplitter"/>: how long and how large each piece may be.</summary>
public sealed class VideoSplitOptions
{
    /// <summary>Longest piece in seconds (default 120: what Vertex AI analyses in one request).</summary>
    public double MaxPieceSec { get; set; } = 120;

    /// <summary>Largest piece file in bytes (default 20 MiB).</summary>
    public long MaxPieceBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>
    /// When positive, pieces aim to last a whole multiple of this many seconds (the segment length of the service), so
    /// only the last segment of a piece can be short. Default 0: pieces as long as the limits allow.
    /// </summary>
    public double AlignSec { get; set; }

    /// <summary>Where in the video to start, in seconds (default 0).</summary>
    public double StartSec { get; set; }

    /// <summary>Where to stop, in seconds; null for the end of the video.</summary>
    public double? EndSec { get; set; }

    /// <summary>
    /// Folder under which a private folder for the pieces is made (and removed when the split ends); default: the
    /// system's temporary folder.
    /// </summary>
    public string? TempDirectory { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range.</summary>
    public void Validate()
    {
        if (!double.IsFinite(MaxPieceSec) || MaxPieceSec < 1)
        {
            throw new ArgumentException($"MaxPieceSec must be at least 1 second; got {MaxPieceSec}.", nameof(MaxPieceSec));
        }

        if (MaxPieceBytes < 64 * 1024)
        {
            throw new ArgumentException($"MaxPieceBytes must be at least 64 KiB; got {MaxPieceBytes}.", nameof(MaxPieceBytes));
        }

        if (!double.IsFinite(AlignSec) || AlignSec < 0)
        {
            throw new ArgumentException($"AlignSec must not be negative; got {AlignSec}.", nameof(AlignSec));
        }

        if (!double.IsFinite(StartSec) || StartSec < 0 || EndSec is double end && (!double.IsFinite(end) || end <= StartSec))
        {
            throw new ArgumentException($"The range {StartSec}–{EndSec} s is empty or invalid.", nameof(EndSec));
        }
    }
}

/// <summary>
/// One piece of a split video: a temporary file holding the video stream (no audio) between two times of the original.
/// Disposing it deletes the file.
/// </summary>
public sealed class VideoPiece : IDisposable
{
    internal VideoPiece(string path, string mediaType, double startSec, double endSec, bool reencoded)
    {
        Path = path;
        MediaType = mediaType;
        StartSec = startSec;
        EndSec = endSec;
        Reencoded = reencoded;
    }

    /// <summary>The piece's file (deleted on dispose).</summary>
    public string Path { get; }

    /// <summary>video/mp4 or video/x-matroska.</summary>
    public string MediaType { get; }

    /// <summary>Where the piece starts in the original video, in seconds; the piece's own time 0.</summary>
    public double StartSec { get; }

    /// <summary>Where the piece ends in the original video, in seconds.</summary>
    public double EndSec { get; }

    /// <summary>True when the piece was re-encoded (H.264) rather than copied.</summary>
    public bool Reencoded { get; }

    /// <summary>The piece's size in bytes.</summary>
    public long Length => new FileInfo(Path).Length;

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            File.Delete(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The folder is removed when the split ends.
        }
    }
}

/// <summary>
/// Splits a video into pieces no longer and no larger than given limits, one piece on disk at a time, for services that
/// take a bounded video per request. Pieces are cut at keyframes by stream copy (fast, lossless, video stream only);
/// a piece is re-encoded to H.264 only when no keyframe falls inside the allowed length or a copy would be too large.
/// Every ffmpeg child is killed on cancellation, and the temporary folder is removed when the enumeration ends.
/// </summary>
public sealed class VideoSplitter
{
    // Room for the container around the packets: a copy whose packets fill more than this share of the budget is cut shorter.
    private const double CopyBudgetShare = 0.92;

    // Re-encoded pieces aim at this share of the byte budget (the rate control overshoots a little on short pieces).
    private const double EncodeBudgetShare = 0.7;

    private readonly FfmpegOptions _options;

    /// <summary>Creates a splitter that runs FFmpeg with the given options (defaults when null).</summary>
    public VideoSplitter(FfmpegOptions? options = null) => _options = options ?? new FfmpegOptions();

    /// <summary>
    /// Cuts <paramref name="path"/> (probed as <paramref name="info"/>) into consecutive pieces covering
    /// <see cref="VideoSplitOptions.StartSec"/>–<see cref="VideoSplitOptions.EndSec"/>. Each piece is written when the
    /// enumeration asks for it; dispose each piece when done with it (the folder is removed at the end anyway).
    /// The first piece may start a little before the requested start (at the keyframe before it).
    /// </summary>
    /// <exception cref="VideoReadException">FFmpeg cannot read or cut the video, or a piece cannot be made small enough.</exception>
    /// <exception cref="FfmpegNotFoundException">FFmpeg is not installed.</exception>
    public async IAsyncEnumerable<VideoPiece> SplitAsync(string path, VideoInfo info, VideoSplitOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        string full = System.IO.Path.GetFullPath(path);
        double end = Math.Min(options.EndSec ?? double.MaxValue, info.DurationSec);
        if (end <= options.StartSec)
        {
            throw new VideoReadException(VideoErrorKind.Corrupt, string.Create(CultureInfo.InvariantCulture,
                $"{path}: nothing to split between {options.StartSec:0.###} s and {end:0.###} s (the video lasts {info.DurationSec:0.###} s)"));
        }

        KeyframeIndex keyframes = await KeyframeIndex.ReadAsync(full, path, info.StreamIndex, _options, cancellationToken).ConfigureAwait(false);
        string folder = System.IO.Path.Combine(options.TempDirectory ?? System.IO.Path.GetTempPath(), "omnivec-split-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            bool copyable = CopyContainer(info.VideoCodec) is not null;
            double target = TargetLength(options);
            double budget = options.MaxPieceBytes * CopyBudgetShare;
            int index = 0;
            // The first piece starts at the keyframe at or before the requested start, so it can be copied.
            double t = keyframes.AtOrBefore(options.StartSec) is { } k0 && options.StartSec - k0.Time < target / 2 ? k0.Time : options.StartSec;
            while (end - t > 0.001)
            {
                cancellationToken.ThrowIfCancellationRequested();
                (double pieceEnd, bool copy) = Plan(keyframes, t, end, target, options.MaxPieceSec, budget, copyable, MinCopyLength(options, target));
                VideoPiece? piece = null;
                if (copy)
                {
                    piece = await CutAsync(full, path, info, folder, index, t, pieceEnd, copy: true, 0, cancellationToken).ConfigureAwait(false);
                    if (piece.Length > options.MaxPieceBytes)
                    {
                        piece.Dispose();
                        piece = null;
                    }
                }

                if (piece is null)
                {
                    // Re-encode at a bitrate that fits the budget; once more at half the rate if the encoder overshot.
                    double seconds = pieceEnd - t;
                    long bitsPerSec = (long)Math.Min(4_000_000, options.MaxPieceBytes * 8 * EncodeBudgetShare / seconds);
                    for (int attempt = 0; attempt < 2 && piece is null; attempt++)
                    {
                        piece = await CutAsync(full, path, info, folder, index, t, pieceEnd, copy: false, bitsPerSec >> attempt, cancellationToken).ConfigureAwait(false);
                        if (piece.Length > options.MaxPieceBytes)
                        {
                            piece.Dispose();
                            piece = null;
                        }
                    }

                    if (piece is null)
                    {
                        throw new VideoReadException(VideoErrorKind.TooLarge, string.Create(CultureInfo.InvariantCulture,
                            $"{path}: cannot make the piece {t:0.###}–{pieceEnd:0.###} s smaller than {options.MaxPieceBytes:N0} bytes"));
                    }
                }

                index++;
                yield return piece;
                t = pieceEnd;
            }
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: a piece still open elsewhere keeps its file until the caller disposes it.
            }
        }
    }

    /// <summary>The piece length aimed at: the longest whole number of aligned segments within the maximum.</summary>
    internal static double TargetLength(VideoSplitOptions options) =>
        options.AlignSec > 0 && options.AlignSec <= options.MaxPieceSec
            ? Math.Floor(options.MaxPieceSec / options.AlignSec + 1e-9) * options.AlignSec
            : options.MaxPieceSec;

    /// <summary>
    /// The shortest copied piece worth making: one aligned segment (a copy shorter than that would give short segments;
    /// re-encoding makes full-length pieces instead), else a second.
    /// </summary>
    internal static double MinCopyLength(VideoSplitOptions options, double target) =>
        options.AlignSec > 0 ? Math.Min(options.AlignSec, target) : Math.Min(1, target / 4);

    /// <summary>
    /// Where the piece starting at <paramref name="start"/> ends and whether it can be copied: the whole rest when it fits;
    /// else the latest keyframe within the target length whose bytes fit the budget (copy, at least
    /// <paramref name="minCopy"/> long); else a re-encoded piece that ends at a keyframe in the second half of the target
    /// length (so the next piece can be copied again) or at the target.
    /// </summary>
    internal static (double End, bool Copy) Plan(KeyframeIndex keyframes, double start, double end, double target, double maxLength, double budget,
        bool copyable, double minCopy)
    {
        bool startsAtKeyframe = copyable && keyframes.IsKeyframe(start);
        if (startsAtKeyframe && end - start <= maxLength && keyframes.BytesBetween(start, end) <= budget)
        {
            return (end, true);
        }

        double limit = Math.Min(start + target, end);
        if (startsAtKeyframe)
        {
            foreach (Keyframe k in keyframes.Between(start, limit))
            {
                // Latest first: the longest piece that fits.
                if (k.Time - start < minCopy - 0.0005)
                {
                    break;
                }

                if (keyframes.BytesBetween(start, k.Time) <= budget)
                {
                    return (k.Time, true);
                }
            }
        }

        if (end - start <= maxLength)
        {
            return (end, false);
        }

        Keyframe? resume = keyframes.Between(start + target / 2, limit).FirstOrDefault();
        return (resume?.Time ?? limit, false);
    }

    /// <summary>The container a stream copy goes into: MP4 keeps the rotation of phone videos; Matroska takes any other codec.</summary>
    private static (string Format, string Extension, string MediaType)? CopyContainer(string codec) => codec switch
    {
        "h264" or "hevc" or "mpeg4" or "av1" or "vp9" => ("mp4", ".mp4", "video/mp4"),
        "vp8" or "mpeg2video" or "mpeg1video" or "mjpeg" or "theora" or "ffv1" => ("matroska", ".mkv", "video/x-matroska"),
        _ => null,
    };

    private async Task<VideoPiece> CutAsync(string full, string name, VideoInfo info, string folder, int index, double start, double end,
        bool copy, long bitsPerSec, CancellationToken cancellationToken)
    {
        (string format, string extension, string mediaType) = copy ? CopyContainer(info.VideoCodec)!.Value : ("mp4", ".mp4", "video/mp4");
        string output = System.IO.Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"piece-{index:D5}{(copy ? "" : "-h264")}{extension}"));
        var args = new List<string>
        {
            "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            // Input seeking: with a copy, start is a keyframe's time and the piece begins exactly there; with an encode it is frame-accurate.
            "-ss", F(start), "-i", "file:" + full, "-t", F(end - start),
            "-map", "0:" + info.StreamIndex.ToString(CultureInfo.InvariantCulture), "-an", "-sn", "-dn", "-map_metadata", "-1",
        };
        if (copy)
        {
            args.AddRange(["-c:v", "copy", "-avoid_negative_ts", "make_zero"]);
        }
        else
        {
            string rate = bitsPerSec.ToString(CultureInfo.InvariantCulture);
            // The model looks at small frames: at most 720 px on the short side keeps detail and lets the rate go far.
            args.AddRange(["-vf", "scale='trunc(iw*min(1,720/min(iw,ih))/2)*2':'trunc(ih*min(1,720/min(iw,ih))/2)*2',setsar=1",
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                "-b:v", rate, "-maxrate", rate, "-bufsize", rate]);
        }

        args.AddRange(["-f", format, "file:" + output]);
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A cut is bounded work: allow the stall timeout per minute of piece, at least once.
        stall.CancelAfter(_options.StallTimeout * Math.Max(1, (end - start) / 60));
        using FfmpegProcess process = FfmpegProcess.Start(_options.FfmpegPath, args, _options.MaxStderrBytes, stall.Token);
        int exitCode;
        try
        {
            await process.Output.CopyToAsync(Stream.Null, stall.Token).ConfigureAwait(false);
            exitCode = await process.WaitForExitAsync(stall.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new VideoReadException(VideoErrorKind.TimedOut, string.Create(CultureInfo.InvariantCulture,
                $"{name}: ffmpeg did not cut {start:0.###}–{end:0.###} s in time"));
        }

        if (exitCode != 0 || !File.Exists(output) || new FileInfo(output).Length == 0)
        {
            throw new VideoReadException(VideoErrorKind.Corrupt, string.Create(CultureInfo.InvariantCulture,
                $"{name}: cannot cut {start:0.###}–{end:0.###} s ({MediaProbe.FailureReason(process, full, name, "ffmpeg", exitCode)})"));
        }

        return new VideoPiece(output, mediaType, start, end, reencoded: !copy);
    }

    private static string F(double seconds) => seconds.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>A keyframe: its presentation time and the bytes of the stream's packets before it (in file order).</summary>
internal sealed record Keyframe(double Time, long BytesBefore);

/// <summary>The keyframes of one video stream and the stream's total bytes, read from ffprobe's packet list (no decoding).</summary>
internal sealed class KeyframeIndex
{
    private readonly List<Keyframe> _keyframes;

    internal KeyframeIndex(List<Keyframe> keyframes, long totalBytes)
    {
        _keyframes = keyframes;
        TotalBytes = totalBytes;
    }

    public long TotalBytes { get; }

    public int Count => _keyframes.Count;

    public bool IsKeyframe(double time) => Find(time) >= 0;

    /// <summary>The latest keyframe at or before <paramref name="time"/>, or null.</summary>
    public Keyframe? AtOrBefore(double time)
    {
        int i = UpperBound(time + 0.0005) - 1;
        return i >= 0 ? _keyframes[i] : null;
    }

    /// <summary>Keyframes strictly after <paramref name="from"/> and at or before <paramref name="to"/>, latest first.</summary>
    public IEnumerable<Keyframe> Between(double from, double to)
    {
        for (int i = UpperBound(to + 0.0005) - 1; i >= 0 && _keyframes[i].Time > from + 0.0005; i--)
        {
            yield return _keyframes[i];
        }
    }

    /// <summary>Bytes of the packets from the keyframe at <paramref name="from"/> up to the keyframe at <paramref name="to"/> (or the end).</summary>
    public long BytesBetween(double from, double to)
    {
        long start = Find(from) is int a and >= 0 ? _keyframes[a].BytesBefore : 0;
        long stop = Find(to) is int b and >= 0 ? _keyframes[b].BytesBefore : TotalBytes;
        return Math.Max(0, stop - start);
    }

    private int Find(double time)
    {
        int i = UpperBound(time + 0.0005) - 1;
        return i >= 0 && Math.Abs(_keyframes[i].Time - time) <= 0.0005 ? i : -1;
    }

    private int UpperBound(double time)
    {
        int lo = 0, hi = _keyframes.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_keyframes[mid].Time < time)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Streams ffprobe's packet list (time, size, flags) and keeps only the keyframes: memory grows with keyframes, not packets.</summary>
    public static async Task<KeyframeIndex> ReadAsync(string full, string name, int streamIndex, FfmpegOptions options, CancellationToken cancellationToken)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using FfmpegProcess probe = FfmpegProcess.Start(options.FfprobePath,
        [
            "-v", "error", "-select_streams", streamIndex.ToString(CultureInfo.InvariantCulture),
            "-show_entries", "packet=pts_time,dts_time,size,flags", "-of", "csv=p=0", "-i", "file:" + full,
        ], options.MaxStderrBytes, stall.Token);
        var keyframes = new List<Keyframe>();
        long total = 0;
        double last = double.NegativeInfinity;
        int exitCode;
        try
        {
            using var reader = new StreamReader(probe.Output);
            while (true)
            {
                stall.CancelAfter(options.StallTimeout);
                string? line = await reader.ReadLineAsync(stall.Token).ConfigureAwait(false);
                if (line is null)
                {
                    break;
                }

                // "pts_time,dts_time,size,flags" (ffprobe's field order); pts may be N/A, then the dts stands in.
                string[] fields = line.Split(',');
                if (fields.Length < 4 || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out long size))
                {
                    continue;
                }

                if (fields[3].StartsWith('K') && (TryTime(fields[0], out double time) || TryTime(fields[1], out time)) && time > last + 0.0005)
                {
                    keyframes.Add(new Keyframe(time, total));
                    last = time;
                }

                total += size;
            }

            exitCode = await probe.WaitForExitAsync(stall.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new VideoReadException(VideoErrorKind.TimedOut, $"{name}: ffprobe stalled while listing keyframes");
        }

        if (exitCode != 0)
        {
            throw new VideoReadException(VideoErrorKind.Corrupt, $"{name}: cannot list keyframes ({MediaProbe.FailureReason(probe, full, name, "ffprobe", exitCode)})");
        }

        // Packets arrive in decode order; with B-frames a keyframe's time is still ahead of the packets before it.
        keyframes.Sort((a, b) => a.Time.CompareTo(b.Time));
        return new KeyframeIndex(keyframes, total);
    }

    private static bool TryTime(string text, out double time) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out time) && double.IsFinite(time);
}
