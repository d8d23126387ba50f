using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Omnivec.Imaging;
using Omnivec.Index;
using Omnivec.Indexing;

namespace Omnivec.Server;

/// <summary>Listing collections, uploading images into one, deleting items, and serving their thumbnails and files.</summary>
internal sealed class CollectionEndpoints(ServerEmbedder embedder, CollectionRegistry collections, Thumbnails thumbnails, ContentUrls contentUrls, OmnivecServerOptions options,
    Microsoft.Extensions.Logging.ILogger logger)
{
    public IResult List() => TypedResults.Ok(collections.Store.List().Select(c => new CollectionSummary(
        c.Name, c.Count, c.Space.Provider, c.Space.ModelId, c.Space.Revision, c.Space.Dimensions, c.BytesOnDisk,
        c.UpdatedUtc == DateTimeOffset.MinValue ? null : c.UpdatedUtc)).ToArray());

    public async Task<IResult> UploadAsync(string name, HttpContext context)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        if (!context.Request.HasFormContentType)
        {
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType, "Upload images as multipart/form-data with one or more 'files' fields.");
        }

        _ = collections.Store.Exists(name); // a bad name is refused before the body is read

        // Videos make this the one route whose body may exceed MaxRequestBytes; ASP.NET buffers form files to disk
        // beyond 64 KB, so a video never sits in memory. Each image is still held to MaxRequestBytes below.
        long maxBody = Math.Max(options.MaxRequestBytes, options.MaxVideoUploadBytes);
        IFormCollection form = await FormRequest.ReadAsync(context.Request, cancellationToken, maxBody).ConfigureAwait(false);
        IReadOnlyList<IFormFile> files = form.Files.GetFiles("files") is { Count: > 0 } named ? named : form.Files;
        if (files.Count == 0)
        {
            throw ApiException.BadRequest("No files in the upload; send them in 'files' fields.");
        }

        if (files.Count > options.MaxItemsPerRequest)
        {
            throw ApiException.BadRequest($"The upload has {files.Count} files; the limit is {options.MaxItemsPerRequest} per request.");
        }

        if (UploadEventStream.IsWanted(context.Request))
        {
            // Accept: text/event-stream: progress events while the server works, then the outcome as the last event.
            var progress = new UploadProgress(files.Count);
            await UploadEventStream.RunAsync(context, progress, () => AddFilesAsync(name, files, progress, cancellationToken),
                options.UploadProgressInterval, options.MaxRequestBytes, logger)
                .ConfigureAwait(false);
            return Results.Empty;
        }

        (int status, object body) = await AddFilesAsync(name, files, null, cancellationToken).ConfigureAwait(false);
        return body is ProblemDetails problem ? TypedResults.Problem(problem) : TypedResults.Json(body, statusCode: status);
    }

    /// <summary>
    /// Checks, embeds and commits the files of one upload: (201, <see cref="UploadResponse"/>) when any was added, else
    /// (400, the problem naming each file's error). <paramref name="progress"/> hears what happens to which file.
    /// </summary>
    private async Task<(int Status, object Body)> AddFilesAsync(string name, IReadOnlyList<IFormFile> files, UploadProgress? progress,
        CancellationToken cancellationToken)
    {
        // Headers first (cheap): a bad file only adds an error, and the pixel budget is checked before anything is decoded.
        var budget = new RequestBudget(options);
        var checkedFiles = new List<(string Name, byte[] Bytes, Microsoft.Extensions.AI.DataContent Content, ImageInfo Info)>();
        var errors = new List<UploadError>();
        var videos = new List<(string Name, IFormFile File, string MediaType, int Position)>();
        for (int i = 0; i < files.Count; i++)
        {
            IFormFile file = files[i];
            string fileName = Path.GetFileName(file.FileName) is { Length: > 0 } n ? ApiException.Quote(n, 255) : $"file {i}";
            progress?.Stage(fileName, i + 1, "checking");
            try
            {
                // Known by its bytes, never by its name. With an audio model every file must be a recording or a video
                // (its soundtrack); otherwise a video goes to the video path and anything else must be an image.
                if (embedder.EmbedsAudio)
                {
                    string audioType = await SniffAsync(file, Omnivec.Media.AudioSniffer.SniffMediaType, cancellationToken).ConfigureAwait(false)
                        ?? throw new InvalidInputException($"{fileName}: not audio (this collection's model embeds recordings: wav, mp3, flac, ogg/opus, m4a/aac, … or the soundtrack of a video)");
                    videos.Add((fileName, file, audioType, i + 1));
                    continue;
                }

                if (await SniffAsync(file, Omnivec.Media.VideoSniffer.SniffMediaType, cancellationToken).ConfigureAwait(false) is { } videoType)
                {
                    videos.Add((fileName, file, videoType, i + 1));
                    continue;
                }

                if (file.Length > options.MaxRequestBytes)
                {
                    throw new InvalidInputException($"{fileName}: the image is {file.Length:N0} bytes; the limit for images is {options.MaxRequestBytes:N0}.");
                }

                byte[] bytes = await SearchEndpoints.ReadFileAsync(file, cancellationToken).ConfigureAwait(false);
                (Microsoft.Extensions.AI.DataContent content, ImageInfo info) = embedder.PrepareImage(bytes, fileName);
                budget.AddPixels(info, fileName);
                checkedFiles.Add((fileName, bytes, content, info));
            }
            catch (InvalidInputException e)
            {
                errors.Add(new UploadError(fileName, e.Message));
            }
        }

        if (checkedFiles.Count > 0)
        {
            progress?.Stage("embedding");
        }

        // Every good file is embedded on its own (concurrently, so the batcher merges them); a bad one only adds an error.
        // Only input errors are per file: a failing model fails the request (5xx).
        var outcomes = await Task.WhenAll(checkedFiles.Select(async f =>
        {
            try
            {
                return (f.Name, f.Bytes, f.Info, Vector: await embedder.EmbedImageAsync(f.Content, cancellationToken).ConfigureAwait(false), Error: (string?)null);
            }
            catch (InvalidInputException e)
            {
                return (f.Name, f.Bytes, f.Info, Vector: Array.Empty<float>(), Error: (string?)e.Message);
            }
        })).ConfigureAwait(false);
        errors.AddRange(outcomes.Where(o => o.Error is not null).Select(o => new UploadError(o.Name, o.Error!)));
        var good = outcomes.Where(o => o.Error is null).ToArray();

        // Videos are segmented and embedded before anything is stored, in a staging folder the orphan sweep leaves
        // alone; a bad video only adds an error, and a client that leaves stops the work (FFmpeg is killed).
        var staged = new List<StagedVideo>();
        try
        {
            foreach ((string videoName, IFormFile videoFile, string mediaType, int position) in videos)
            {
                (StagedVideo? video, UploadError? error) = await StageVideoAsync(name, videoName, videoFile, mediaType,
                    progress is null ? null : stage => progress.Stage(videoName, position, stage), progress, cancellationToken).ConfigureAwait(false);
                if (video is not null)
                {
                    staged.Add(video);
                }
                else
                {
                    errors.Add(error!);
                }
            }

            if (good.Length == 0 && staged.Count == 0)
            {
                // Nothing to add, so nothing is created: no collection, no folder, no file.
                var problem = new ProblemDetails
                {
                    Status = StatusCodes.Status400BadRequest,
                    Title = ProblemResponses.ReasonPhrase(StatusCodes.Status400BadRequest),
                    Detail = ApiException.Quote("No file could be added: " + string.Join("; ", errors.Select(e => e.Error)), ProblemResponses.MaxDetailLength),
                };
                problem.Extensions["errors"] = errors;
                problem.Extensions["error"] = new Dictionary<string, object?> { ["message"] = problem.Detail, ["type"] = "invalid_request_error", ["code"] = null };
                return (StatusCodes.Status400BadRequest, problem);
            }

            progress?.Stage("saving");

            using CollectionRegistry.CollectionLease lease = collections.OpenOrCreate(name, embedder.Space);
            IVectorCollection collection = lease.Collection;
            string uploads = collections.UploadsDirectory(collection.Name);
            Directory.CreateDirectory(uploads);

            // From here on the work is finished even if the client leaves: each upload gets its own file (identical bytes
            // from two clients are two items, and one's DELETE never removes the other's file), written and fsynced before
            // the row that names it is committed. A kill in between leaves only a file no row names, swept on the next start.
            var stored = new List<string>();
            var rows = new List<CollectionItem>();
            try
            {
                foreach (var outcome in good)
                {
                    string hash = Convert.ToHexStringLower(SHA256.HashData(outcome.Bytes));
                    string path = Path.Combine(uploads, hash[..16] + "-" + Guid.NewGuid().ToString("N")[..12] + Extension(outcome.Info.Format));
                    await StoreAsync(path, outcome.Bytes).ConfigureAwait(false);
                    stored.Add(path);
                    (DateTimeOffset? takenAt, string? camera) = Omnivec.Imaging.PhotoMetadata.Read(outcome.Bytes);
                    rows.Add(new CollectionItem
                    {
                        Path = path,
                        MediaType = "image/" + outcome.Info.Format.ToLowerInvariant(),
                        SizeBytes = outcome.Bytes.Length,
                        ModifiedUtc = DateTimeOffset.UtcNow,
                        ContentHash = hash,
                        Width = outcome.Info.Width,
                        Height = outcome.Info.Height,
                        TakenAt = takenAt,
                        Camera = camera,
                        Extra = new Dictionary<string, string> { ["name"] = outcome.Name },
                    });
                }

                var vectors = good.Select(o => (ReadOnlyMemory<float>)o.Vector).ToList();
                foreach (StagedVideo video in staged)
                {
                    // Renamed into uploads/ under the lease (no sweep can run meanwhile); all of a video's segments are in
                    // the one upsert below, so a video is in the collection whole or not at all.
                    string path = Path.Combine(uploads, video.Hash[..16] + "-" + Guid.NewGuid().ToString("N")[..12] + video.Extension);
                    File.Move(video.StagingPath, path);
                    stored.Add(path);
                    rows.AddRange(video.Rows(path, new Dictionary<string, string> { ["name"] = video.Name }).Select(r => r with { ContentHash = video.Hash }));
                    vectors.AddRange(video.Vectors);
                }

                IReadOnlyList<long> ids = collection.Upsert(rows, [.. vectors], CancellationToken.None);
                var items = new List<UploadedItem>(ids.Count);
                for (int i = 0; i < ids.Count; i++)
                {
                    thumbnails.Forget(collection.Name, ids[i]);
                    if (VideoSegmentItems.TryGetSegment(rows[i], out string videoPath, out double start, out double end))
                    {
                        items.Add(new UploadedItem(ids[i], collections.PublicPath(collection.Name, videoPath), rows[i].Extra!["name"], rows[i].Width, rows[i].Height)
                        {
                            MediaType = rows[i].MediaType,
                            StartOffsetSec = start,
                            EndOffsetSec = end,
                            ContentUrl = contentUrls.For(collection.Name, ids[i]),
                        });
                    }
                    else
                    {
                        items.Add(new UploadedItem(ids[i], collections.PublicPath(collection.Name, rows[i].Path), good[i].Name, good[i].Info.Width, good[i].Info.Height)
                        {
                            MediaType = rows[i].MediaType,
                            ContentUrl = contentUrls.For(collection.Name, ids[i]),
                        });
                    }
                }

                return (StatusCodes.Status201Created, new UploadResponse(items, errors));
            }
            catch
            {
                foreach (string path in stored)
                {
                    File.Delete(path);
                }

                throw;
            }
        }
        finally
        {
            foreach (StagedVideo video in staged)
            {
                File.Delete(video.StagingPath); // gone already when it was moved into uploads/
            }
        }
    }

    public IResult Delete(string name, long id)
    {
        using CollectionRegistry.CollectionLease lease = collections.Open(name);
        IVectorCollection collection = lease.Collection;
        CollectionItem item = collection.Get(id) ?? throw ApiException.NotFound($"Collection '{collection.Name}' has no item {id}.");
        if (VideoSegmentItems.TryGetSegment(item, out string video, out _, out _) && VideoSegmentItems.FileOf(item.Path) == video)
        {
            // A segment stands for its video: deleting it removes every segment of the video (in one transaction), and
            // an uploaded video's file with them.
            CollectionItem[] segments = [.. collection.Items(video + "#t=").Where(s => VideoSegmentItems.TryGetSegment(s, out string f, out _, out _) && f == video)];
            collection.DeleteByPaths(segments.Select(s => s.Path), CancellationToken.None);
            foreach (CollectionItem segment in segments)
            {
                thumbnails.Forget(collection.Name, segment.Id);
            }

            DeleteUploadedFile(collection, video);
            return TypedResults.NoContent();
        }

        if (!collection.Delete(id))
        {
            throw ApiException.NotFound($"Collection '{collection.Name}' has no item {id}.");
        }

        thumbnails.Forget(collection.Name, id);
        DeleteUploadedFile(collection, item.Path);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// The file the server stored for an upload goes with its item (no other item names it); indexed files elsewhere
    /// are the user's and stay.
    /// </summary>
    private void DeleteUploadedFile(IVectorCollection collection, string path)
    {
        string uploads = collections.UploadsDirectory(collection.Name) + Path.DirectorySeparatorChar;
        if (path.StartsWith(uploads, StringComparison.Ordinal) && collection.FindByPath(path) is null)
        {
            File.Delete(path);
        }
    }

    public async Task<IResult> ThumbnailAsync(string name, long id, HttpContext context)
    {
        int size = Thumbnails.DefaultSize;
        if (context.Request.Query.TryGetValue("size", out var sizeText) && sizeText.Count > 0)
        {
            if (!int.TryParse(sizeText[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out size) || !Thumbnails.Sizes.Contains(size))
            {
                throw ApiException.BadRequest($"'size' must be one of {string.Join(", ", Thumbnails.Sizes)}; got '{ApiException.Quote(sizeText[0], 20)}'.");
            }
        }

        string path;
        string collectionName;
        double? at = null;
        using (CollectionRegistry.CollectionLease lease = collections.Open(name))
        {
            collectionName = lease.Collection.Name;
            CollectionItem item = FindFile(lease.Collection, id);
            path = FilePath(item);
            if (item.MediaType?.StartsWith("audio/", StringComparison.Ordinal) == true)
            {
                throw ApiException.NotFound($"Item {id} is a recording: it has no picture (play its content_url).");
            }

            if (VideoSegmentItems.TryGetSegment(item, out _, out double start, out double end))
            {
                at = (start + end) / 2; // the middle of the moment: what the segment's vector is centred on
            }
        }

        byte[] jpeg;
        try
        {
            jpeg = await thumbnails.GetAsync(collectionName, id, path, size, context.RequestAborted, at).ConfigureAwait(false);
        }
        catch (Omnivec.Media.FfmpegNotFoundException e)
        {
            throw ApiException.Unavailable("Video thumbnails need FFmpeg on the server: " + e.Message, retryAfterSeconds: 3600);
        }

        context.Response.Headers.CacheControl = "private, max-age=3600";
        return TypedResults.File(jpeg, "image/jpeg");
    }

    public IResult Content(string name, long id, HttpContext context)
    {
        using CollectionRegistry.CollectionLease lease = collections.Open(name);
        CollectionItem item = FindFile(lease.Collection, id);
        context.Response.Headers.CacheControl = "private, max-age=3600";
        // Served by id from the collection's own record, so no request can name an arbitrary path. A video segment
        // serves its whole video: the player seeks to the moment with Range requests.
        return TypedResults.PhysicalFile(FilePath(item), item.MediaType, enableRangeProcessing: true);
    }

    private static CollectionItem FindFile(IVectorCollection collection, long id)
    {
        CollectionItem item = collection.Get(id) ?? throw ApiException.NotFound($"Collection '{collection.Name}' has no item {id}.");
        return File.Exists(FilePath(item)) ? item : throw ApiException.NotFound($"The file of item {id} is missing from the server.");
    }

    /// <summary>The file behind an item: its path, or for a video segment (keyed <c>clip.mp4#t=3,6</c>) the video's.</summary>
    private static string FilePath(CollectionItem item) =>
        VideoSegmentItems.TryGetSegment(item, out string video, out _, out _) && VideoSegmentItems.FileOf(item.Path) == video ? video : item.Path;

    /// <summary>
    /// A video cut into segments, or a recording into windows, embedded and waiting in the staging folder to be moved
    /// into uploads/ and committed: <see cref="Rows"/> makes its items for the final path, <see cref="Vectors"/> in the same order.
    /// </summary>
    private sealed record StagedVideo(string Name, string StagingPath, string Extension, string Hash, long SizeBytes,
        Func<string, IReadOnlyDictionary<string, string>, IReadOnlyList<CollectionItem>> Rows, IReadOnlyList<ReadOnlyMemory<float>> Vectors);

    private delegate string? HeaderSniffer(ReadOnlySpan<byte> header);

    /// <summary>The media type of a form file from its first bytes (video or audio sniffer); null when it is not that kind.</summary>
    private static async Task<string?> SniffAsync(IFormFile file, HeaderSniffer sniff, CancellationToken cancellationToken)
    {
        byte[] header = new byte[Omnivec.Media.VideoSniffer.HeaderLength];
        Stream stream = file.OpenReadStream();
        await using (stream.ConfigureAwait(false))
        {
            int length = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            return sniff(header.AsSpan(0, length));
        }
    }

    /// <summary>
    /// Streams an uploaded video to the staging folder (hashing it on the way), then cuts it into segments and embeds
    /// them with the server's (batched) image embedder. Bad videos give an error for the file, not for the request.
    /// </summary>
    private async Task<(StagedVideo? Video, UploadError? Error)> StageVideoAsync(string collection, string fileName, IFormFile file, string mediaType,
        Action<string>? stage, IProgress<Omnivec.Media.VideoProgress>? progress, CancellationToken cancellationToken)
    {
        stage?.Invoke("storing");
        string staging = collections.StagingDirectory(collection);
        Directory.CreateDirectory(staging);
        string path = Path.Combine(staging, Guid.NewGuid().ToString("N") + MediaExtension(mediaType));
        bool keep = false;
        try
        {
            string hash;
            var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (target.ConfigureAwait(false))
            {
                Stream source = file.OpenReadStream();
                await using (source.ConfigureAwait(false))
                {
                    using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                    byte[] buffer = new byte[1 << 16];
                    int read;
                    while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        sha.AppendData(buffer, 0, read);
                        await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    }

                    hash = Convert.ToHexStringLower(sha.GetHashAndReset());
                }

                target.Flush(flushToDisk: true);
            }

            if (embedder.EmbedsAudio)
            {
                // A recording (or a video's soundtrack) with an audio model: its windows, like a folder's recordings.
                stage?.Invoke("segmenting");
                IReadOnlyList<MediaSegment> windows = await embedder.EmbedMediaFileAsync(path, mediaType.StartsWith("video/", StringComparison.Ordinal), fileName,
                    options.Ffmpeg.MaxDuration, progress, cancellationToken).ConfigureAwait(false);
                AudioSegmentEmbedding[] audio = [.. windows.Select(w => new AudioSegmentEmbedding(w.StartSec, w.EndSec, new Microsoft.Extensions.AI.Embedding<float>(w.Vector)))];
                keep = true;
                return (new StagedVideo(fileName, path, MediaExtension(mediaType), hash, file.Length,
                    (final, extra) => VideoSegmentItems.CreateAudio(final, mediaType, audio, file.Length, DateTimeOffset.UtcNow, extra),
                    [.. windows.Select(w => w.Vector)]), null);
            }

            var reader = new Omnivec.Media.VideoReader(options.Ffmpeg);
            var video = new Omnivec.Media.VideoEmbedder(embedder.Images, new Omnivec.Media.VideoSegmenter(options.Video, reader));
            stage?.Invoke("probing");
            Omnivec.Media.VideoInfo info = await reader.ProbeAsync(path, cancellationToken).ConfigureAwait(false);
            var segments = new List<Omnivec.Media.VideoSegmentVector>();
            stage?.Invoke("segmenting");
            await foreach (Omnivec.Media.VideoSegmentVector segment in video.EmbedAsync(path, info, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                segments.Add(segment);
            }

            if (segments.Count == 0)
            {
                return (null, new UploadError(fileName, $"{fileName}: no segment of the video could be read."));
            }

            keep = true;
            return (new StagedVideo(fileName, path, MediaExtension(info.MediaType), hash, file.Length,
                (final, extra) => VideoSegmentItems.Create(final, info, segments, file.Length, DateTimeOffset.UtcNow, extra),
                [.. segments.Select(v => v.Embedding.Vector)]), null);
        }
        catch (ApiException e) when (e.Status is StatusCodes.Status400BadRequest or StatusCodes.Status413PayloadTooLarge or StatusCodes.Status503ServiceUnavailable
            && !cancellationToken.IsCancellationRequested)
        {
            return (null, new UploadError(fileName, e.Message));
        }
        catch (Omnivec.Media.FfmpegNotFoundException e)
        {
            return (null, new UploadError(fileName, $"{fileName}: videos need FFmpeg on the server ({e.Message})."));
        }
        catch (OmnivecException e) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, new UploadError(fileName, ApiException.Quote(e.Message.Replace(path, fileName, StringComparison.Ordinal), 500)));
        }
        finally
        {
            if (!keep)
            {
                File.Delete(path);
            }
        }
    }

    private static string MediaExtension(string mediaType) => mediaType switch
    {
        "audio/wav" => ".wav",
        "audio/aiff" => ".aiff",
        "audio/flac" => ".flac",
        "audio/ogg" => ".ogg",
        "audio/mpeg" => ".mp3",
        "audio/aac" => ".aac",
        "audio/mp4" => ".m4a",
        "audio/amr" => ".amr",
        "audio/x-caf" => ".caf",
        "audio/basic" => ".au",
        "audio/x-wavpack" => ".wv",
        "audio/x-ape" => ".ape",
        "video/mp4" => ".mp4",
        "video/quicktime" => ".mov",
        "video/x-m4v" => ".m4v",
        "video/3gpp" => ".3gp",
        "video/webm" => ".webm",
        "video/x-matroska" => ".mkv",
        "video/x-msvideo" => ".avi",
        "video/mp2t" => ".ts",
        "video/mpeg" => ".mpg",
        "video/x-flv" => ".flv",
        "video/x-ms-asf" => ".wmv",
        _ => mediaType.StartsWith("audio/", StringComparison.Ordinal) ? ".audio" : ".video",
    };

    /// <summary>Written aside, flushed to the disk and renamed, so neither a crash nor a power cut leaves a half file under the final name.</summary>
    private static async Task StoreAsync(string path, byte[] bytes)
    {
        string temp = path + ".tmp";
        var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(bytes, CancellationToken.None).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path);
    }

    private static string Extension(string format) => format.ToLowerInvariant() switch
    {
        "jpeg" or "jpg" => ".jpg",
        "tiff" => ".tif",
        string f when f.Length is > 0 and <= 8 && f.All(char.IsAsciiLetterOrDigit) => "." + f,
        _ => ".img",
    };
}
