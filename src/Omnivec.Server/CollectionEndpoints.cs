using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Omnivec.Imaging;
using Omnivec.Index;
using Omnivec.Indexing;

namespace Omnivec.Server;

/// <summary>Listing collections, uploading images into one, deleting items, and serving their thumbnails and files.</summary>
internal sealed class CollectionEndpoints(ServerEmbedder embedder, CollectionRegistry collections, Thumbnails thumbnails, OmnivecServerOptions options)
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

        IFormCollection form = await FormRequest.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<IFormFile> files = form.Files.GetFiles("files") is { Count: > 0 } named ? named : form.Files;
        if (files.Count == 0)
        {
            throw ApiException.BadRequest("No files in the upload; send them in 'files' fields.");
        }

        if (files.Count > options.MaxItemsPerRequest)
        {
            throw ApiException.BadRequest($"The upload has {files.Count} files; the limit is {options.MaxItemsPerRequest} per request.");
        }

        // Headers first (cheap): a bad file only adds an error, and the pixel budget is checked before anything is decoded.
        var budget = new RequestBudget(options);
        var checkedFiles = new List<(string Name, byte[] Bytes, Microsoft.Extensions.AI.DataContent Content, ImageInfo Info)>();
        var errors = new List<UploadError>();
        for (int i = 0; i < files.Count; i++)
        {
            IFormFile file = files[i];
            string fileName = Path.GetFileName(file.FileName) is { Length: > 0 } n ? ApiException.Quote(n, 255) : $"file {i}";
            try
            {
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
        if (good.Length == 0)
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
            return TypedResults.Problem(problem);
        }

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

            IReadOnlyList<long> ids = collection.Upsert(rows, good.Select(o => (ReadOnlyMemory<float>)o.Vector).ToArray());
            var items = new List<UploadedItem>(ids.Count);
            for (int i = 0; i < ids.Count; i++)
            {
                thumbnails.Forget(collection.Name, ids[i]);
                items.Add(new UploadedItem(ids[i], collections.PublicPath(collection.Name, rows[i].Path), good[i].Name, good[i].Info.Width, good[i].Info.Height));
            }

            return TypedResults.Json(new UploadResponse(items, errors), statusCode: StatusCodes.Status201Created);
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

    public IResult Delete(string name, long id)
    {
        using CollectionRegistry.CollectionLease lease = collections.Open(name);
        IVectorCollection collection = lease.Collection;
        CollectionItem item = collection.Get(id) ?? throw ApiException.NotFound($"Collection '{collection.Name}' has no item {id}.");
        if (!collection.Delete(id))
        {
            throw ApiException.NotFound($"Collection '{collection.Name}' has no item {id}.");
        }

        thumbnails.Forget(collection.Name, id);
        // The file the server stored for this upload goes with its item (no other item names it); indexed files
        // elsewhere are the user's and stay.
        string uploads = collections.UploadsDirectory(collection.Name) + Path.DirectorySeparatorChar;
        if (item.Path.StartsWith(uploads, StringComparison.Ordinal) && collection.FindByPath(item.Path) is null)
        {
            File.Delete(item.Path);
        }

        return TypedResults.NoContent();
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
