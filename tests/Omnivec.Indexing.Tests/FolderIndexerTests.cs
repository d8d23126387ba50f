using Microsoft.Extensions.AI;
using Omnivec.Index;
using Omnivec.Tests;
using Xunit.Abstractions;

namespace Omnivec.Indexing.Tests;

[Collection(TestModelCollection.Name)]
public sealed class FolderIndexerTests(TestModel model, ITestOutputHelper output)
{
    private static string CorpusImages => TestPaths.CorpusFile("images");

    [Fact]
    public async Task Indexing_the_whole_corpus_reports_every_bad_file_and_finds_every_photo_by_itself()
    {
        using var temp = new TempFolder();
        var store = new CollectionStore(temp.Sub("store"));
        using Collection collection = store.OpenOrCreate("corpus", model.Clip.Space);
        var indexer = new FolderIndexer(model.Clip, collection);

        FolderIndexReport report = await indexer.IndexAsync(CorpusImages);
        output.WriteLine($"{report.FilesSeen} files: {report.Added} added, {report.Failures.Count} failed in {report.Elapsed.TotalSeconds:F1} s");
        foreach (IndexFailure failure in report.Failures)
        {
            output.WriteLine($"  {Path.GetRelativePath(CorpusImages, failure.Path)}: {failure.Reason}");
            Assert.False(string.IsNullOrWhiteSpace(failure.Reason));
            Assert.DoesNotContain(failure.Path, failure.Reason, StringComparison.Ordinal);
        }

        Assert.False(report.Cancelled);
        Assert.Equal(report.FilesSeen, report.Added + report.Failures.Count);
        Assert.Equal(report.Added, collection.Count);

        // Every malformed file is either reported with a reason or (for a readable file with e.g. a wrong extension) indexed.
        string malformed = Path.Combine(CorpusImages, "malformed");
        string[] malformedFiles = Directory.GetFiles(malformed).Where(f => !f.EndsWith(".tsv", StringComparison.Ordinal) && !f.EndsWith(".md", StringComparison.Ordinal)).ToArray();
        int reported = malformedFiles.Count(f => report.Failures.Any(x => x.Path == f));
        int indexed = malformedFiles.Count(f => collection.FindByPath(f) is not null);
        output.WriteLine($"malformed: {reported} reported, {indexed} indexed, {malformedFiles.Length - reported - indexed} not images by extension");
        Assert.True(reported >= malformedFiles.Length / 2, "most malformed files must be reported");

        // Every photo: searching with the photo itself returns it first with score 1.
        string[] photos = TestPaths.CorpusPhotos();
        var search = new CollectionSearch(model.Clip, collection);
        foreach (string photo in photos)
        {
            IReadOnlyList<SearchHit> hits = await search.SearchImageAsync(new DataContent(await File.ReadAllBytesAsync(photo), "application/octet-stream") { Name = photo }, top: 3);
            // Byte-identical copies elsewhere in the corpus (e.g. a renamed file) tie with it at 1.0.
            SearchHit self = Assert.Single(hits, h => h.Item.Path == photo);
            Assert.Equal(1.0f, self.Score, 3);
            Assert.Equal(hits[0].Score, self.Score, 4);
        }

        CollectionItem bananas = collection.FindByPath(Path.Combine(CorpusImages, "photos", "bananas.jpg"))!;
        Assert.Equal(800, bananas.Width);
        Assert.Equal(288, bananas.Height);
        Assert.Equal(64, bananas.ContentHash.Length);
    }

    [Fact]
    public async Task Re_running_is_incremental_changed_files_are_re_embedded_and_deleted_ones_removed()
    {
        using var temp = new TempFolder();
        string folder = temp.Sub("pics");
        string[] names = ["bananas.jpg", "hotdog.jpg", "two_beagles.jpg", "astronaut.png"];
        foreach (string name in names)
        {
            File.Copy(TestPaths.CorpusFile("images", "photos", name), Path.Combine(folder, name));
        }

        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        File.Copy(TestPaths.CorpusFile("images", "photos", "tomatoes.jpg"), Path.Combine(folder, "sub", "tomatoes.jpg"));
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not an image");

        var store = new CollectionStore(temp.Sub("store"));
        using Collection collection = store.OpenOrCreate("default", model.Clip.Space);
        var indexer = new FolderIndexer(model.Clip, collection);

        FolderIndexReport first = await indexer.IndexAsync(folder);
        Assert.Equal((5, 0, 0, 0), (first.Added, first.Updated, first.Unchanged, first.Removed));
        Assert.Empty(first.Failures);

        FolderIndexReport second = await indexer.IndexAsync(folder);
        Assert.Equal((0, 0, 5), (second.Added, second.Updated, second.Unchanged));

        // Replace one file's content, delete another, add a third.
        string changed = Path.Combine(folder, "bananas.jpg");
        long oldId = collection.FindByPath(changed)!.Id;
        float[] before = collection.GetVector(oldId)!;
        File.Copy(TestPaths.CorpusFile("images", "photos", "white_mug.jpg"), changed, overwrite: true);
        File.Delete(Path.Combine(folder, "hotdog.jpg"));
        File.Copy(TestPaths.CorpusFile("images", "photos", "espresso_cup.png"), Path.Combine(folder, "sub", "espresso_cup.png"));

        FolderIndexReport third = await indexer.IndexAsync(folder);
        Assert.Equal((1, 1, 1, 3), (third.Added, third.Updated, third.Removed, third.Unchanged));
        Assert.Null(collection.FindByPath(Path.Combine(folder, "hotdog.jpg")));
        CollectionItem now = collection.FindByPath(changed)!;
        Assert.True(VectorMath.Cosine(before, collection.GetVector(now.Id)) < 0.9999f, "the changed file must be re-embedded");
        Assert.Equal(5, collection.Count);

        // Touching a file without changing it keeps its vector and costs no model run.
        File.SetLastWriteTimeUtc(Path.Combine(folder, "astronaut.png"), DateTime.UtcNow.AddMinutes(-5));
        FolderIndexReport fourth = await indexer.IndexAsync(folder);
        Assert.Equal((0, 1, 4), (fourth.Added, fourth.Updated, fourth.Unchanged));
    }

    [Fact]
    public async Task A_cancelled_run_keeps_what_it_committed_and_the_next_run_finishes()
    {
        using var temp = new TempFolder();
        var store = new CollectionStore(temp.Sub("store"));
        using Collection collection = store.OpenOrCreate("default", model.Clip.Space);
        var indexer = new FolderIndexer(model.Clip, collection);
        string photos = TestPaths.CorpusFile("images", "photos");

        using var cts = new CancellationTokenSource();
        var progress = new CancelAfter(cts, batches: 2);
        FolderIndexReport partial = await indexer.IndexAsync(photos, new FolderIndexOptions { BatchSize = 4 }, progress, cts.Token);
        Assert.True(partial.Cancelled);
        Assert.InRange(collection.Count, 8, TestPaths.CorpusPhotos().Length - 1);

        FolderIndexReport rest = await indexer.IndexAsync(photos, new FolderIndexOptions { BatchSize = 4 });
        Assert.False(rest.Cancelled);
        Assert.Equal(TestPaths.CorpusPhotos().Length, collection.Count);
        Assert.Equal(partial.Added, rest.Unchanged);
    }

    [Fact]
    public async Task A_video_is_committed_whole_and_one_with_missing_segments_is_redone()
    {
        using var temp = new TempFolder();
        var store = new CollectionStore(temp.Sub("store"));
        using Collection collection = store.OpenOrCreate("default", model.Clip.Space);
        var indexer = new FolderIndexer(model.Clip, collection);
        string folder = temp.Sub("media");
        File.Copy(TestPaths.CorpusFile("images", "photos", "hotdog.jpg"), Path.Combine(folder, "hotdog.jpg"));
        string video = Path.Combine(folder, "shots.mp4");
        TestVideos.MakeShots(video, [("two_beagles.jpg", 1.5), ("bananas.jpg", 1.5)], width: 160, height: 120);

        FolderIndexReport first = await indexer.IndexAsync(folder);
        Assert.Empty(first.Failures);
        Assert.Equal(2, first.Added);
        CollectionItem[] segments = [.. collection.Items(video + "#")];
        Assert.True(segments.Length >= 2, $"{segments.Length} segments");
        Assert.All(segments, s => Assert.True(VideoSegmentItems.TryGetSegment(s, out string file, out _, out _) && file == video));
        Assert.Equal(0, VideoSegmentItems.TryGetSegment(segments[0], out _, out double start, out _) ? start : -1);

        // What a kill between two writes could leave: a video with a segment missing. It must not look complete.
        collection.DeleteByPaths([segments[^1].Path]);
        FolderIndexReport second = await indexer.IndexAsync(folder);
        Assert.Equal((0, 1, 1), (second.Added, second.Updated, second.Unchanged));
        Assert.Equal(segments.Select(s => s.Path), collection.Items(video + "#").Select(s => s.Path));

        // Unchanged: nothing redone. A moment resolves to its segment; deleting the file removes every segment.
        FolderIndexReport third = await indexer.IndexAsync(folder);
        Assert.Equal((0, 0, 2), (third.Added, third.Updated, third.Unchanged));
        CollectionItem? moment = VideoSegmentItems.Resolve(collection, video + "@2.5");
        Assert.NotNull(moment);
        Assert.True(VideoSegmentItems.TryGetSegment(moment, out _, out double from, out double to) && from <= 2.5 && 2.5 < to);
        File.Delete(video);
        FolderIndexReport fourth = await indexer.IndexAsync(folder);
        Assert.Equal(1, fourth.Removed);
        Assert.Empty(collection.Items(video + "#"));
        Assert.Equal(1, collection.Count);
    }

    [Fact]
    public async Task Symlinked_folders_are_followed_once_and_a_link_loop_does_not_hang()
    {
        using var temp = new TempFolder();
        string folder = temp.Sub("pics");
        string sub = Directory.CreateDirectory(Path.Combine(folder, "sub")).FullName;
        File.Copy(TestPaths.CorpusFile("images", "photos", "bananas.jpg"), Path.Combine(sub, "bananas.jpg"));
        Directory.CreateSymbolicLink(Path.Combine(sub, "loop"), folder);       // sub/loop -> pics (a cycle)
        string outside = temp.Sub("outside");
        File.Copy(TestPaths.CorpusFile("images", "photos", "hotdog.jpg"), Path.Combine(outside, "hotdog.jpg"));
        Directory.CreateSymbolicLink(Path.Combine(folder, "linked"), outside);  // a link to a folder elsewhere

        var store = new CollectionStore(temp.Sub("store"));
        using Collection collection = store.OpenOrCreate("default", model.Clip.Space);
        FolderIndexReport report = await new FolderIndexer(model.Clip, collection).IndexAsync(folder).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, report.Added);
        Assert.NotNull(collection.FindByPath(Path.Combine(folder, "linked", "hotdog.jpg")));
    }

    [Fact]
    public void A_collection_refuses_an_embedder_from_another_space()
    {
        using var temp = new TempFolder();
        var store = new CollectionStore(temp.Sub("store"));
        using Collection collection = store.OpenOrCreate("default", model.Clip.Space with { Revision = "another-revision" });
        var error = Assert.Throws<EmbeddingSpaceMismatchException>(() => new FolderIndexer(model.Clip, collection));
        Assert.Contains("not comparable", error.Message);
        Assert.Throws<EmbeddingSpaceMismatchException>(() => new CollectionSearch(model.Clip, collection));
    }

    private sealed class CancelAfter(CancellationTokenSource cts, int batches) : IProgress<FolderIndexProgress>
    {
        private int _reports;

        public void Report(FolderIndexProgress value)
        {
            // The first report comes before any batch.
            if (++_reports > batches)
            {
                cts.Cancel();
            }
        }
    }
}
