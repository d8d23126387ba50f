using System.Globalization;
using Omnivec.Index;

namespace Omnivec.Indexing;

/// <summary>
/// How video segments live in a collection: one item per segment, keyed by the file's path with a W3C media fragment
/// (<c>/videos/clip.mp4#t=3.2,6.8</c>), with the offsets and the segment count in <see cref="CollectionItem.Extra"/>.
/// All segments of a video are committed in one transaction, so a video is in a collection whole or not at all.
/// </summary>
public static class VideoSegmentItems
{
    /// <summary><see cref="CollectionItem.Extra"/> key: the video file's path.</summary>
    public const string VideoKey = "video";

    /// <summary><see cref="CollectionItem.Extra"/> key: segment start in seconds.</summary>
    public const string StartKey = "start_offset_sec";

    /// <summary><see cref="CollectionItem.Extra"/> key: segment end in seconds.</summary>
    public const string EndKey = "end_offset_sec";

    /// <summary><see cref="CollectionItem.Extra"/> key: how many segments the video has (a video is complete when all are present).</summary>
    public const string CountKey = "segments";

    /// <summary><see cref="CollectionItem.Extra"/> key: "audio" for the windows of a recording or soundtrack embedded by an audio model (absent for video segments).</summary>
    public const string ModalityKey = "modality";

    /// <summary><see cref="CollectionItem.Extra"/> key: the video's duration in seconds.</summary>
    public const string DurationKey = "duration_sec";

    private const string Fragment = "#t=";

    /// <summary>The item path of a segment: the file path with a media fragment.</summary>
    public static string PathOf(string file, double startSec, double endSec) =>
        string.Create(CultureInfo.InvariantCulture, $"{file}{Fragment}{startSec:0.###},{endSec:0.###}");

    /// <summary>
    /// The items of a video's segments, ready for one <c>Upsert</c> with the segments' vectors
    /// in the same order. <paramref name="extra"/> (e.g. an uploaded file's name) is copied into every item.
    /// </summary>
    public static IReadOnlyList<CollectionItem> Create(string file, Omnivec.Media.VideoInfo info, IReadOnlyList<Omnivec.Media.VideoSegmentVector> segments,
        long sizeBytes, DateTimeOffset modifiedUtc, IReadOnlyDictionary<string, string>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(segments);
        string count = segments.Count.ToString(CultureInfo.InvariantCulture);
        string duration = info.DurationSec.ToString("0.###", CultureInfo.InvariantCulture);
        var items = new List<CollectionItem>(segments.Count);
        foreach (Omnivec.Media.VideoSegmentVector segment in segments)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, string> pair in extra ?? new Dictionary<string, string>())
            {
                fields[pair.Key] = pair.Value;
            }

            fields[VideoKey] = file;
            fields[StartKey] = segment.StartSec.ToString("0.###", CultureInfo.InvariantCulture);
            fields[EndKey] = segment.EndSec.ToString("0.###", CultureInfo.InvariantCulture);
            fields[CountKey] = count;
            fields[DurationKey] = duration;
            items.Add(new CollectionItem
            {
                Path = PathOf(file, segment.StartSec, segment.EndSec),
                MediaType = info.MediaType,
                SizeBytes = sizeBytes,
                ModifiedUtc = modifiedUtc,
                Width = info.DisplayWidth,
                Height = info.DisplayHeight,
                Extra = fields,
            });
        }

        return items;
    }

    /// <summary>
    /// The items of a recording's windows (or a video soundtrack's, embedded by an audio model), ready for one
    /// <c>Upsert</c> with the windows' vectors in the same order: keyed and limited like video segments, marked
    /// <see cref="ModalityKey"/> = "audio". <paramref name="extra"/> (e.g. an uploaded file's name) is copied into every item.
    /// </summary>
    public static IReadOnlyList<CollectionItem> CreateAudio(string file, string mediaType, IReadOnlyList<AudioSegmentEmbedding> windows, long sizeBytes,
        DateTimeOffset modifiedUtc, IReadOnlyDictionary<string, string>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(mediaType);
        ArgumentNullException.ThrowIfNull(windows);
        string count = windows.Count.ToString(CultureInfo.InvariantCulture);
        string duration = windows.Count == 0 ? "0" : windows.Max(w => w.EndSec).ToString("0.###", CultureInfo.InvariantCulture);
        return windows.Select(w =>
        {
            var fields = new Dictionary<string, string>(extra ?? new Dictionary<string, string>(), StringComparer.Ordinal)
            {
                [VideoKey] = file,
                [StartKey] = w.StartSec.ToString("0.###", CultureInfo.InvariantCulture),
                [EndKey] = w.EndSec.ToString("0.###", CultureInfo.InvariantCulture),
                [CountKey] = count,
                [DurationKey] = duration,
                [ModalityKey] = "audio",
            };
            return new CollectionItem
            {
                Path = PathOf(file, w.StartSec, w.EndSec),
                MediaType = mediaType,
                SizeBytes = sizeBytes,
                ModifiedUtc = modifiedUtc,
                Extra = fields,
            };
        }).ToList();
    }

    /// <summary>The segment's video file and offsets, when the item is a video segment.</summary>
    public static bool TryGetSegment(CollectionItem item, out string file, out double startSec, out double endSec)
    {
        ArgumentNullException.ThrowIfNull(item);
        file = "";
        startSec = endSec = 0;
        if (item.Extra is not { } extra || !extra.TryGetValue(VideoKey, out string? video)
            || !extra.TryGetValue(StartKey, out string? start) || !extra.TryGetValue(EndKey, out string? end))
        {
            return false;
        }

        file = video;
        return double.TryParse(start, NumberStyles.Float, CultureInfo.InvariantCulture, out startSec)
            && double.TryParse(end, NumberStyles.Float, CultureInfo.InvariantCulture, out endSec);
    }

    /// <summary>The video file of a segment path (the part before the media fragment), or null for other paths.</summary>
    public static string? FileOf(string itemPath)
    {
        ArgumentNullException.ThrowIfNull(itemPath);
        int at = itemPath.LastIndexOf(Fragment, StringComparison.Ordinal);
        return at > 0 ? itemPath[..at] : null;
    }

    /// <summary>"clip.mp4 @ 0:03–0:06" for a segment, the path otherwise.</summary>
    public static string Display(CollectionItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return TryGetSegment(item, out string file, out double start, out double end)
            ? $"{file} @ {Time(start)}–{Time(end)}"
            : item.Path;
    }

    /// <summary>m:ss (h:mm:ss from an hour on).</summary>
    public static string Time(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, Math.Floor(seconds)));
        return t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>Keeps only the best-scoring <paramref name="perVideo"/> segments of each video (hits are best first); other items pass.</summary>
    public static IReadOnlyList<SearchHit> LimitPerVideo(IEnumerable<SearchHit> hits, int perVideo)
    {
        ArgumentNullException.ThrowIfNull(hits);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var kept = new List<SearchHit>();
        foreach (SearchHit hit in hits)
        {
            if (TryGetSegment(hit.Item, out string file, out _, out _))
            {
                int count = seen.GetValueOrDefault(file);
                if (count >= perVideo)
                {
                    continue;
                }

                seen[file] = count + 1;
            }

            kept.Add(hit);
        }

        return kept;
    }

    /// <summary>
    /// The item stored under <paramref name="path"/>; else, for a video, the segment at a moment written
    /// <c>clip.mp4@12.5</c> (seconds), or its first segment when no moment is given. Null when none is indexed.
    /// </summary>
    public static CollectionItem? Resolve(IVectorCollection collection, string path)
    {
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(path);
        if (collection.FindByPath(path) is { } item)
        {
            return item;
        }

        int at = path.LastIndexOf('@');
        double seconds = 0;
        bool moment = at > 0 && double.TryParse(path.AsSpan(at + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out seconds)
            && double.IsFinite(seconds);
        return FindSegment(collection, moment ? path[..at] : path, moment ? seconds : 0);
    }

    /// <summary>The segment of an indexed video that contains <paramref name="atSec"/> (the last one for times past the end).</summary>
    public static CollectionItem? FindSegment(IVectorCollection collection, string file, double atSec)
    {
        ArgumentNullException.ThrowIfNull(collection);
        CollectionItem? best = null;
        foreach (CollectionItem item in collection.Items(file + Fragment))
        {
            if (TryGetSegment(item, out string f, out double start, out double end) && f == file)
            {
                if (atSec >= start && atSec < end)
                {
                    return item;
                }

                if (best is null || (TryGetSegment(best, out _, out double bestStart, out _) && start > bestStart && atSec >= start))
                {
                    best = item;
                }
            }
        }

        return best;
    }
}
