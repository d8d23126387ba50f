using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Omnivec.Imaging;
using Omnivec.Index;

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

        IFormCollection form = await context.Request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<IFormFile> files = form.Files.GetFiles("files") is { Count: > 0 } named ? named : form.Files;
        if (files.Count == 0)
        {
            throw ApiException.BadRequest("No files in the upload; send them in 'files' fields.");
        }

        if (files.Count > options.MaxItemsPerRequest)
        {
            throw ApiException.BadRequest($"The upload has {files.Count} files; the limit is {options.MaxItemsPerRequest} per request.");
        }

        IVectorCollection collection = collections.OpenOrCreate(name, embedder.Space);
        string uploads = collections.UploadsDirectory(collection.Name);

        // Every file is checked and embedded on its own (concurrently, so the batcher merges them); a bad one only adds an error.
        var work = files.Select(async (file, i) =>
        {
            string fileName = Path.GetFileName(file.FileName) is { Length: > 0 } n ? n : $"file {i}";
            try
            {
                byte[] bytes = await SearchEndpoints.ReadFileAsync(file, cancellationToken).ConfigureAwait(false);
                (Microsoft.Extensions.AI.DataContent content, ImageInfo info) = embedder.PrepareImage(bytes, fileName);
                float[] vector = await embedder.EmbedImageAsync(content, cancellationToken).ConfigureAwait(false);
                return (Name: fileName, Bytes: bytes, Info: info, Vector: vector, Error: (string?)null);
            }
            catch (OmnivecException e)
            {
                return (Name: fileName, Bytes: Array.Empty<byte>(), Info: (ImageInfo?)null!, Vector: Array.Empty<float>(), Error: (string?)e.Message);
            }
        }).ToArray();
        var outcomes = await Task.WhenAll(work).ConfigureAwait(false);

        var items = new List<UploadedItem>();
        var errors = new List<UploadError>();
        foreach (var outcome in outcomes)
        {
            if (outcome.Error is not null)
            {
                errors.Add(new UploadError(outcome.Name, outcome.Error));
                continue;
            }

            string hash = Convert.ToHexStringLower(SHA256.HashData(outcome.Bytes));
            string path = Path.Combine(uploads, hash + Extension(outcome.Info.Format));
            await StoreAsync(path, outcome.Bytes, cancellationToken).ConfigureAwait(false);
            (DateTimeOffset? takenAt, string? camera) = Omnivec.Imaging.PhotoMetadata.Read(outcome.Bytes);
            var item = new CollectionItem
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
            };
            long id = collection.Upsert([item], [outcome.Vector])[0];
            thumbnails.Forget(collection.Name, id);
            items.Add(new UploadedItem(id, path, outcome.Name, outcome.Info.Width, outcome.Info.Height));
        }

        if (items.Count == 0)
        {
            var problem = new ProblemDetails
            {
                Status = StatusCodes.Status400BadRequest,
                Title = ProblemResponses.ReasonPhrase(StatusCodes.Status400BadRequest),
                Detail = "No file could be added: " + string.Join("; ", errors.Select(e => e.Error)),
            };
            problem.Extensions["errors"] = errors;
            problem.Extensions["error"] = new Dictionary<string, object?> { ["message"] = problem.Detail, ["type"] = "invalid_request_error", ["code"] = null };
            return TypedResults.Problem(problem);
        }

        return TypedResults.Json(new UploadResponse(items, errors), statusCode: StatusCodes.Status201Created);
    }

    public IResult Delete(string name, long id)
    {
        IVectorCollection collection = collections.Open(name);
        CollectionItem item = collection.Get(id) ?? throw ApiException.NotFound($"Collection '{collection.Name}' has no item {id}.");
        if (!collection.Delete(id))
        {
            throw ApiException.NotFound($"Collection '{collection.Name}' has no item {id}.");
        }

        thumbnails.Forget(collection.Name, id);
        // Files the server stored for an upload go with their item; indexed files elsewhere are the user's and stay.
        string uploads = collections.UploadsDirectory(collection.Name) + Path.DirectorySeparatorChar;
        if (item.Path.StartsWith(uploads, StringComparison.Ordinal) && collection.FindByPath(item.Path) is null)
        {
            File.Delete(item.Path);
        }

        return TypedResults.NoContent();
    }

    public IResult Thumbnail(string name, long id, HttpContext context)
    {
        int size = 256;
        if (context.Request.Query.TryGetValue("size", out var sizeText) && sizeText.Count > 0)
        {
            if (!int.TryParse(sizeText[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out size) || size < Thumbnails.MinSize || size > Thumbnails.MaxSize)
            {
                throw ApiException.BadRequest($"'size' must be an integer between {Thumbnails.MinSize} and {Thumbnails.MaxSize}; got '{sizeText[0]}'.");
            }
        }

        IVectorCollection collection = collections.Open(name);
        CollectionItem item = FindFile(collection, id);
        byte[] jpeg = thumbnails.Get(collection.Name, id, item.Path, size);
        context.Response.Headers.CacheControl = "private, max-age=3600";
        return TypedResults.File(jpeg, "image/jpeg");
    }

    public IResult Content(string name, long id, HttpContext context)
    {
        IVectorCollection collection = collections.Open(name);
        CollectionItem item = FindFile(collection, id);
        context.Response.Headers.CacheControl = "private, max-age=3600";
        // Served by id from the collection's own record, so no request can name an arbitrary path.
        return TypedResults.PhysicalFile(item.Path, item.MediaType, enableRangeProcessing: true);
    }

    private static CollectionItem FindFile(IVectorCollection collection, long id)
    {
        CollectionItem item = collection.Get(id) ?? throw ApiException.NotFound($"Collection '{collection.Name}' has no item {id}.");
        return File.Exists(item.Path) ? item : throw ApiException.NotFound($"The file of item {id} is no longer at {item.Path}.");
    }

    private static async Task StoreAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        if (File.Exists(path))
        {
            return; // same content, same name
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Written aside and renamed, so a crash never leaves a half file under the final name.
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(temp, bytes, cancellationToken).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }

    private static string Extension(string format) => format.ToLowerInvariant() switch
    {
        "jpeg" or "jpg" => ".jpg",
        "tiff" => ".tif",
        string f when f.Length is > 0 and <= 8 && f.All(char.IsAsciiLetterOrDigit) => "." + f,
        _ => ".img",
    };
}
