// Index a folder of images with a local CLIP model, then search it by text or by an example image.
//
//   dotnet run -- <model folder> <images folder> "a dog on the beach"
//   dotnet run -- <model folder> <images folder> photo.jpg
//
// The model folder holds a CLIP model exported to ONNX (e.g. a snapshot of Xenova/clip-vit-base-patch32; the Omnivec.Hub
// package or `omnivec models pull` downloads one). Collections live in ./collections next to where this runs.
using Microsoft.Extensions.AI;
using Omnivec;
using Omnivec.Index;
using Omnivec.Indexing;
using Omnivec.Onnx;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: IndexAndSearch <model folder> <images folder> <query text | image file>");
    return 2;
}

string modelFolder = args[0], imagesFolder = args[1], query = args[2];
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

try
{
    using ClipEmbeddingGenerator clip = ClipEmbeddingGenerator.Load(modelFolder);
    var store = new CollectionStore(Path.GetFullPath("collections"));
    using Collection photos = store.OpenOrCreate("photos", clip.Space);

    // Incremental: a second run only embeds new or changed files; unreadable files are reported, not fatal.
    FolderIndexReport report = await new FolderIndexer(clip, photos).IndexAsync(imagesFolder, cancellationToken: cancel.Token);
    Console.WriteLine($"indexed {report.Embedded} of {report.FilesSeen} files ({report.Unchanged} unchanged, {report.Failures.Count} failed); {photos.Count} items");
    foreach (IndexFailure failure in report.Failures)
    {
        Console.WriteLine($"  skipped {failure.Path}: {failure.Reason}");
    }

    var search = new CollectionSearch(clip, photos);
    IReadOnlyList<SearchHit> hits = File.Exists(query)
        ? await search.SearchImageAsync(new DataContent(await File.ReadAllBytesAsync(query, cancel.Token), "application/octet-stream") { Name = query }, top: 5, cancellationToken: cancel.Token)
        : await search.SearchTextAsync(query, top: 5, cancellationToken: cancel.Token);
    foreach (SearchHit hit in hits)
    {
        Console.WriteLine($"{hit.Score:F4}\t{hit.Item.Path}");
    }

    return 0;
}
catch (OmnivecException ex)
{
    // Omnivec's errors (missing model files, a collection of another model, …) carry a message meant for people.
    Console.Error.WriteLine(ex.Message);
    return 1;
}
