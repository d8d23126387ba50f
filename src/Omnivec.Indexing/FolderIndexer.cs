using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Omnivec.Imaging;
using Omnivec.Index;
using Omnivec.Media;

namespace Omnivec.Indexing;

/// <summary>
/// Indexes a folder of images and videos into a collection, incrementally: unchanged files (same size and modification time) are
/// skipped, changed ones re-embedded, deleted ones removed. Work is committed batch by batch, so a cancelled or killed
/// run keeps everything it committed and the next run continues where it stopped. Unreadable files are reported, never fatal.
/// A video becomes one item per segment (see <see cref="VideoSegmentItems"/>), all committed together; without FFmpeg
/// videos are skipped with one note and images are still indexed.
/// </summary>
public sealed class FolderIndexer
{
    private readonly IMultimodalEmbeddingGenerator _embedder;
    private readonly IVectorCollection _collection;
    private readonly ImageDecoder _decoder;
    private readonly ILogger _logger;
    private VideoEmbedder? _videoEmbedder;
    private string? _ffmpegMissing;

    /// <summary>Creates an indexer that embeds files with <paramref name="embedder"/> into <paramref name="collection"/>.</summary>
    public FolderIndexer(IMultimodalEmbeddingGenerator embedder, IVectorCollection collection, ImageDecoder? decoder = null, ILogger<FolderIndexer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        ArgumentNullException.ThrowIfNull(collection);
        collection.Space.EnsureCompatibleWith(embedder.Space);
        _embedder = embedder;
        _collection = collection;
        _decoder = decoder ?? new ImageDecoder();
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Indexes the folder incrementally: new and changed files are embedded, vanished ones removed, unreadable ones reported and skipped. Cancelling keeps what was committed; the next run resumes.</summary>
    public async Task<FolderIndexReport> IndexAsync(string folder, FolderIndexOptions? options = null, IProgress<FolderIndexProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        options ??= new FolderIndexOptions();
        string root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
        {
            throw new InvalidInputException($"Folder not found: {folder}");
        }

        var clock = Stopwatch.StartNew();
        var failures = new List<IndexFailure>();
        var notes = new List<string>();
        // An audio model (CLAP) indexes recordings and the soundtracks of videos, window by window; it cannot embed images.
        IAudioFileEmbedder? audio = _embedder.GetService<IAudioFileEmbedder>();
        List<FileInfo> all = (audio is null
            ? MediaFiles.Enumerate(root, options.Recursive, options.IndexVideos, (path, reason) => failures.Add(new IndexFailure(path, reason)))
            : MediaFiles.Enumerate(root, options.Recursive, name => MediaFiles.IsAudio(name) || (options.IndexVideos && MediaFiles.IsVideo(name)),
                (path, reason) => failures.Add(new IndexFailure(path, reason)))).ToList();
        string prefix = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        var known = new Dictionary<string, CollectionItem>(StringComparer.Ordinal);
        var knownVideos = new Dictionary<string, List<CollectionItem>>(StringComparer.Ordinal);
        foreach (CollectionItem item in _collection.Items(prefix))
        {
            if (VideoSegmentItems.TryGetSegment(item, out string video, out _, out _))
            {
                if (!knownVideos.TryGetValue(video, out List<CollectionItem>? segments))
                {
                    knownVideos[video] = segments = [];
                }

                segments.Add(item);
            }
            else
            {
                known[item.Path] = item;
            }
        }

        int removed = 0;
        if (options.RemoveMissing)
        {
            var present = new HashSet<string>(all.Select(f => f.FullName), StringComparer.Ordinal);
            string[] gone = [.. known.Keys.Where(p => !present.Contains(p)),
                .. knownVideos.Where(v => (options.IndexVideos || audio is not null) && !present.Contains(v.Key)).SelectMany(v => v.Value.Select(i => i.Path))];
            if (gone.Length > 0)
            {
                _collection.DeleteByPaths(gone, CancellationToken.None); // one short transaction; the run checks for cancellation next
                removed = known.Keys.Count(p => !present.Contains(p)) + knownVideos.Keys.Count(v => (options.IndexVideos || audio is not null) && !present.Contains(v));
            }
        }

        var pending = new List<FileInfo>();
        var pendingVideos = new List<FileInfo>();
        int unchanged = 0;
        foreach (FileInfo file in all)
        {
            bool isVideo = audio is not null || MediaFiles.IsVideo(file.Name);
            if (isVideo ? IsComplete(knownVideos.GetValueOrDefault(file.FullName), file)
                : known.TryGetValue(file.FullName, out CollectionItem? item) && item.SizeBytes == file.Length && item.ModifiedUtc == Truncate(file.LastWriteTimeUtc))
            {
                unchanged++;
            }
            else if (isVideo)
            {
                pendingVideos.Add(file);
            }
            else
            {
                pending.Add(file);
            }
        }

        List<FileInfo> files = all;
        int images = pending.Count;
        pending.AddRange(pendingVideos);

        int added = 0, updated = 0, done = 0;
        bool cancelled = false;
        var batchClock = Stopwatch.StartNew();
        progress?.Report(new FolderIndexProgress(pending.Count, 0, 0, unchanged, failures.Count, 0, null, null));
        try
        {
            for (int start = 0; start < pending.Count;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                List<FileInfo> batch = start < images
                    ? pending.GetRange(start, Math.Min(Math.Max(1, options.BatchSize), images - start))
                    : [pending[start]];
                (int a, int u) = start < images
                    ? await IndexBatchAsync(batch, known, options, failures, cancellationToken).ConfigureAwait(false)
                    : audio is not null
                    ? await IndexAudioAsync(audio, batch[0], knownVideos.GetValueOrDefault(batch[0].FullName), options, failures, notes, cancellationToken).ConfigureAwait(false)
                    : await IndexVideoAsync(batch[0], knownVideos.GetValueOrDefault(batch[0].FullName), options, failures, notes, cancellationToken).ConfigureAwait(false);
                added += a;
                updated += u;
                done += batch.Count;
                start += batch.Count;
                double rate = done / Math.Max(batchClock.Elapsed.TotalSeconds, 1e-6);
                TimeSpan? eta = rate > 0 ? TimeSpan.FromSeconds((pending.Count - done) / rate) : null;
                progress?.Report(new FolderIndexProgress(pending.Count, done, added + updated, unchanged, failures.Count, rate, eta, batch[^1].FullName));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }

        if (!cancelled && options.OptimizeWhenDone && (added + updated + removed > 0))
        {
            try
            {
                _collection.Optimize(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Everything is committed; only the derived index is left for the next run or search to build.
                cancelled = true;
            }
        }

        return new FolderIndexReport(files.Count, added, updated, unchanged, removed, failures, clock.Elapsed, cancelled) { Notes = notes };
    }

    /// <summary>A video is unchanged when every segment recorded the file's current size and time and none is missing.</summary>
    private static bool IsComplete(List<CollectionItem>? segments, FileInfo file)
    {
        if (segments is null || segments.Count == 0)
        {
            return false;
        }

        DateTimeOffset modified = Truncate(file.LastWriteTimeUtc);
        string? count = segments[0].Extra?.GetValueOrDefault(VideoSegmentItems.CountKey);
        return segments.All(s => s.SizeBytes == file.Length && s.ModifiedUtc == modified)
            && int.TryParse(count, System.Globalization.CultureInfo.InvariantCulture, out int expected) && expected == segments.Count;
    }

    /// <summary>
    /// Embeds one video's segments and commits them in one transaction, then removes the segments of its previous
    /// version. A kill before the commit leaves the old version (redone next run); after it, stale segments carry the
    /// old size or time, so the next run sees the video as changed and redoes it.
    /// </summary>
    private async Task<(int Added, int Updated)> IndexVideoAsync(FileInfo file, List<CollectionItem>? previous, FolderIndexOptions options,
        List<IndexFailure> failures, List<string> notes, CancellationToken cancellationToken)
    {
        string path = file.FullName;
        if (_ffmpegMissing is not null)
        {
            return (0, 0);
        }

        if (file.Length > options.MaxVideoBytes)
        {
            failures.Add(new IndexFailure(path, $"file is {file.Length:N0} bytes, above the limit of {options.MaxVideoBytes:N0} for videos"));
            return (0, 0);
        }

        _videoEmbedder ??= new VideoEmbedder(_embedder, new VideoSegmenter(options.Video, new VideoReader(options.Ffmpeg)));
        var segments = new List<VideoSegmentVector>();
        VideoInfo info;
        try
        {
            info = await _videoEmbedder.Segmenter.Reader.ProbeAsync(path, cancellationToken).ConfigureAwait(false);
            if (options.MaxVideoDurationSec is double maxDuration && info.DurationSec > maxDuration)
            {
                failures.Add(new IndexFailure(path, $"video lasts {info.DurationSec:0} s, above --max-duration {maxDuration:0} s"));
                return (0, 0);
            }

            await foreach (VideoSegmentVector segment in _videoEmbedder.EmbedAsync(path, info, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                segments.Add(segment);
            }
        }
        catch (FfmpegNotFoundException ex)
        {
            _ffmpegMissing = ex.Message;
            notes.Add("videos skipped: " + ex.Message);
            return (0, 0);
        }
        catch (OmnivecException ex)
        {
            failures.Add(new IndexFailure(path, Reason(ex, path)));
            return (0, 0);
        }

        IReadOnlyList<CollectionItem> items = VideoSegmentItems.Create(path, info, segments, file.Length, Truncate(file.LastWriteTimeUtc));
        if (items.Count == 0)
        {
            failures.Add(new IndexFailure(path, "no segment could be read"));
            return (0, 0);
        }

        _collection.Upsert(items, [.. segments.Select(s => s.Embedding.Vector)], CancellationToken.None);
        if (previous is { Count: > 0 })
        {
            var current = new HashSet<string>(items.Select(i => i.Path), StringComparer.Ordinal);
            _collection.DeleteByPaths(previous.Select(p => p.Path).Where(p => !current.Contains(p)), CancellationToken.None);
            return (0, 1);
        }

        return (1, 0);
    }

    /// <summary>
    /// Embeds one recording (or a video's soundtrack) window by window with an audio model and commits its windows as
    /// segment items in one transaction, like a video's segments (the same keys, so search shows and limits them alike).
    /// </summary>
    private async Task<(int Added, int Updated)> IndexAudioAsync(IAudioFileEmbedder audio, FileInfo file, List<CollectionItem>? previous, FolderIndexOptions options,
        List<IndexFailure> failures, List<string> notes, CancellationToken cancellationToken)
    {
        string path = file.FullName;
        if (_ffmpegMissing is not null)
        {
            return (0, 0);
        }

        if (file.Length > options.MaxVideoBytes)
        {
            failures.Add(new IndexFailure(path, $"file is {file.Length:N0} bytes, above the limit of {options.MaxVideoBytes:N0} for audio and video"));
            return (0, 0);
        }

        var windows = new List<AudioSegmentEmbedding>();
        string mediaType;
        try
        {
            mediaType = AudioSniffer.SniffFile(path) ?? "application/octet-stream";
            await foreach (AudioSegmentEmbedding window in audio.EmbedAudioFileAsync(path, cancellationToken).ConfigureAwait(false))
            {
                windows.Add(window);
                if (options.MaxVideoDurationSec is double maxDuration && window.EndSec > maxDuration)
                {
                    failures.Add(new IndexFailure(path, $"audio lasts more than --max-duration {maxDuration:0} s"));
                    return (0, 0);
                }
            }
        }
        catch (FfmpegNotFoundException ex)
        {
            _ffmpegMissing = ex.Message;
            notes.Add("audio skipped: " + ex.Message);
            return (0, 0);
        }
        catch (OmnivecException ex)
        {
            failures.Add(new IndexFailure(path, Reason(ex, path)));
            return (0, 0);
        }
        catch (IOException ex)
        {
            failures.Add(new IndexFailure(path, ex.Message));
            return (0, 0);
        }

        if (windows.Count == 0)
        {
            failures.Add(new IndexFailure(path, "no audio could be read"));
            return (0, 0);
        }

        DateTimeOffset modified = Truncate(file.LastWriteTimeUtc);
        IReadOnlyList<CollectionItem> items = VideoSegmentItems.CreateAudio(path, mediaType, windows, file.Length, modified);
        _collection.Upsert(items, [.. windows.Select(w => w.Embedding.Vector)], CancellationToken.None);
        if (previous is { Count: > 0 })
        {
            var current = new HashSet<string>(items.Select(i => i.Path), StringComparer.Ordinal);
            _collection.DeleteByPaths(previous.Select(p => p.Path).Where(p => !current.Contains(p)), CancellationToken.None);
            return (0, 1);
        }

        return (1, 0);
    }

    private async Task<(int Added, int Updated)> IndexBatchAsync(List<FileInfo> batch, Dictionary<string, CollectionItem> known, FolderIndexOptions options,
        List<IndexFailure> failures, CancellationToken cancellationToken)
    {
        // Read, hash and identify in parallel; embedding happens for the batch at once.
        var prepared = new PreparedFile?[batch.Count];
        await Parallel.ForAsync(0, batch.Count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            async (i, ct) => prepared[i] = await PrepareAsync(batch[i], options, ct).ConfigureAwait(false)).ConfigureAwait(false);

        var items = new List<CollectionItem>(batch.Count);
        var vectors = new List<ReadOnlyMemory<float>>(batch.Count);
        var toEmbed = new List<PreparedFile>(batch.Count);
        int updated = 0;
        foreach (PreparedFile? file in prepared)
        {
            if (file is null)
            {
                continue;
            }

            if (file.Error is not null)
            {
                failures.Add(new IndexFailure(file.Path, file.Error));
                continue;
            }

            if (known.TryGetValue(file.Path, out CollectionItem? existing) && existing.ContentHash == file.Item.ContentHash
                && _collection.GetVector(existing.Id) is { } kept)
            {
                // Touched but not changed: keep the vector, refresh the metadata.
                items.Add(file.Item with { Id = existing.Id });
                vectors.Add(kept);
                updated++;
                continue;
            }

            toEmbed.Add(file);
        }

        foreach ((PreparedFile file, Embedding<float>? embedding, string? error) in await EmbedAsync(toEmbed, cancellationToken).ConfigureAwait(false))
        {
            if (embedding is null)
            {
                failures.Add(new IndexFailure(file.Path, error ?? "could not be embedded"));
                continue;
            }

            if (known.ContainsKey(file.Path))
            {
                updated++;
            }

            items.Add(file.Item);
            vectors.Add(embedding.Vector);
        }

        if (items.Count > 0)
        {
            // A batch embedded before Ctrl-C is still committed: the work is done, and the next run skips it.
            _collection.Upsert(items, vectors, CancellationToken.None);
        }

        return (items.Count - updated, updated);
    }

    /// <summary>Embeds a batch; a bad input fails only itself (see <see cref="EmbeddingGeneratorBatchExtensions.GenerateEachAsync"/>).</summary>
    private async Task<List<(PreparedFile File, Embedding<float>? Embedding, string? Error)>> EmbedAsync(List<PreparedFile> files, CancellationToken cancellationToken)
    {
        IEmbeddingGenerator<DataContent, Embedding<float>> images = _embedder;
        IReadOnlyList<EmbeddingOutcome> outcomes = await images.GenerateEachAsync(files.Select(f => f.Content).ToArray(), cancellationToken).ConfigureAwait(false);
        var results = new List<(PreparedFile, Embedding<float>?, string?)>(files.Count);
        for (int i = 0; i < files.Count; i++)
        {
            string? reason = outcomes[i].Error is { } error ? Reason(error, files[i].Path) : null;
            if (reason is not null)
            {
                _logger.LogDebug("Not embedded: {Path}: {Reason}", files[i].Path, reason);
            }

            results.Add((files[i], outcomes[i].Embedding, reason));
        }

        return results;
    }

    private async Task<PreparedFile?> PrepareAsync(FileInfo file, FolderIndexOptions options, CancellationToken cancellationToken)
    {
        string path = file.FullName;
        try
        {
            if (file.Length > options.MaxFileBytes)
            {
                return PreparedFile.Failed(path, $"file is {file.Length:N0} bytes, above the limit of {options.MaxFileBytes:N0}");
            }

            byte[] data = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            ImageInfo info;
            try
            {
                info = _decoder.Identify(data, path);
            }
            catch (ImageDecodeException ex)
            {
                return PreparedFile.Failed(path, Reason(ex, path));
            }

            (DateTimeOffset? taken, string? camera) = PhotoMetadata.Read(data);
            var item = new CollectionItem
            {
                Path = path,
                MediaType = MediaFiles.MediaType(path),
                SizeBytes = data.LongLength,
                ModifiedUtc = Truncate(file.LastWriteTimeUtc),
                ContentHash = Convert.ToHexStringLower(SHA256.HashData(data)),
                Width = info.Width,
                Height = info.Height,
                TakenAt = taken,
                Camera = camera,
            };
            return new PreparedFile(path, item, new DataContent(data, item.MediaType) { Name = path }, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return PreparedFile.Failed(path, "cannot read file: " + ex.Message);
        }
    }

    /// <summary>The error's message without the path prefix decoders put in front: the report already shows the path.</summary>
    private static string Reason(OmnivecException ex, string path) =>
        ex.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? ex.Message[(path.Length + 2)..] : ex.Message;

    /// <summary>File systems and SQLite keep different precision; whole milliseconds compare reliably.</summary>
    private static DateTimeOffset Truncate(DateTime utc) => new(utc.Ticks - utc.Ticks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);

    private sealed record PreparedFile(string Path, CollectionItem Item, DataContent Content, string? Error)
    {
        public static PreparedFile Failed(string path, string error) => new(path, null!, null!, error);
    }
}
