using Microsoft.Extensions.AI;
using Omnivec.Indexing;
using Omnivec.Indexing.Query;
using Omnivec.Onnx;
using Omnivec.Tests;

namespace Omnivec.Index.Postgres.Tests;

/// <summary>A folder with a photo and a video indexed into a PostgreSQL collection: segments, moments, incremental runs.</summary>
public sealed class VideoCollectionTests : IClassFixture<PgliteServer>, IDisposable
{
    private readonly PgliteServer _server;
    private readonly string _temp = Directory.CreateTempSubdirectory("omnivec-pg-video-").FullName;

    public VideoCollectionTests(PgliteServer server) => _server = server;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_video_in_a_postgres_collection_is_found_at_the_moment_that_shows_the_photo()
    {
        using ClipEmbeddingGenerator clip = ClipEmbeddingGenerator.Load(Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-hf"));
        using var store = new PostgresStore(_server.Uri);
        using IVectorCollection collection = store.OpenOrCreate("videos", clip.Space);
        string folder = Directory.CreateDirectory(Path.Combine(_temp, "media")).FullName;
        File.Copy(TestVideos.Photo("hotdog.jpg"), Path.Combine(folder, "hotdog.jpg"));
        string video = Path.Combine(folder, "shots.mp4");
        double[] cuts = TestVideos.MakeShots(video, [("two_beagles.jpg", 1.5), ("bananas.jpg", 1.5), ("tomatoes.jpg", 1.5)], width: 160, height: 120);

        var indexer = new FolderIndexer(clip, collection);
        FolderIndexReport first = await indexer.IndexAsync(folder);
        Assert.Empty(first.Failures);
        Assert.Equal(2, first.Added);

        var search = new CollectionSearch(clip, collection);
        var query = new SearchQuery([QueryTerm.ForImage(await File.ReadAllBytesAsync(TestVideos.Photo("bananas.jpg")), "bananas.jpg")]);
        RankedSearchResult found = await search.SearchAsync(query, new RankedSearchOptions
        {
            Top = 5, AutomaticCutoff = false, PerVideo = 1, Filter = new SearchFilter { MediaType = "video/" },
        });
        SearchHit best = Assert.Single(found.Hits);
        Assert.True(VideoSegmentItems.TryGetSegment(best.Item, out string file, out double start, out double end));
        Assert.Equal(video, file);
        Assert.True(start >= cuts[0] - 0.25 && end <= cuts[1] + 0.25, $"segment {start}-{end} is not inside the shot {cuts[0]}-{cuts[1]}");
        Assert.Equal(best.Item.Id, VideoSegmentItems.Resolve(collection, video + "@" + ((start + end) / 2).ToString(System.Globalization.CultureInfo.InvariantCulture))?.Id);

        FolderIndexReport again = await indexer.IndexAsync(folder);
        Assert.Equal((0, 0, 2), (again.Added, again.Updated, again.Unchanged));
        File.Delete(video);
        FolderIndexReport removed = await indexer.IndexAsync(folder);
        Assert.Equal(1, removed.Removed);
        Assert.Equal(1, collection.Count);
    }
}
