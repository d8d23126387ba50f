using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Omnivec.Index;

namespace Omnivec.Server.Tests;

/// <summary>Uploads under abuse: floods of failed uploads, concurrent upload/delete of the same bytes, kills before the commit.</summary>
public sealed class UploadAbuseTests
{
    private static MultipartFormDataContent Form(byte[] bytes, string fileName)
    {
        var part = new ByteArrayContent(bytes);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return new MultipartFormDataContent { { part, "files", fileName } };
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static string[] CollectionFolders(RunningServer server) =>
        Directory.Exists(server.Store) ? Directory.GetDirectories(server.Store).Select(d => Path.GetFileName(d)!).ToArray() : [];

    [Fact]
    public async Task A_flood_of_failed_uploads_to_new_names_creates_nothing_and_the_server_stays_healthy()
    {
        await using RunningServer server = await RunningServer.StartAsync(o => o.MaxBatchSize = 1);
        await Parallel.ForEachAsync(Enumerable.Range(0, 400), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            using var empty = Form([], "z.jpg");
            HttpResponseMessage response = await server.Http.PostAsync($"/v1/collections/x{i}/items", empty, ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var garbage = Form(Encoding.ASCII.GetBytes("not an image at all"), "g.png");
            Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.PostAsync($"/v1/collections/y{i}/items", garbage, ct)).StatusCode);
        });

        Assert.Empty(CollectionFolders(server));
        Assert.Equal(0, server.Registry.OpenCount);
        JsonElement health = await Json(await server.Http.GetAsync("/health"));
        Assert.Equal(0, health.GetProperty("collections").GetInt32());
        Assert.Empty((await Json(await server.Http.GetAsync("/v1/collections"))).EnumerateArray());
    }

    [Fact]
    public async Task New_collections_are_limited_and_open_ones_bounded_and_closed_when_idle()
    {
        await using RunningServer server = await RunningServer.StartAsync(o =>
        {
            o.MaxCollections = 4;
            o.MaxOpenCollections = 2;
        });
        byte[] photo = TestModel.Photo("bananas.jpg");
        for (int i = 0; i < 4; i++)
        {
            using var form = Form(photo, "b.jpg");
            Assert.Equal(HttpStatusCode.Created, (await server.Http.PostAsync($"/v1/collections/c{i}/items", form)).StatusCode);
            Assert.True(server.Registry.OpenCount <= 2, $"{server.Registry.OpenCount} collections open");
        }

        using (var fifth = Form(photo, "b.jpg"))
        {
            HttpResponseMessage refused = await server.Http.PostAsync("/v1/collections/c4/items", fifth);
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("limit", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(Path.Combine(server.Store, "c4")));
        // Every collection still answers (closed ones are reopened), and no more than the bound stay open.
        for (int i = 0; i < 4; i++)
        {
            JsonElement found = await Json(await server.Http.PostAsync("/v1/search",
                new StringContent($$"""{"collection":"c{{i}}","text":"bananas"}""", Encoding.UTF8, "application/json")));
            Assert.Equal(1, found.GetProperty("results").GetArrayLength());
            Assert.True(server.Registry.OpenCount <= 2, $"{server.Registry.OpenCount} collections open");
        }

        Assert.Equal(4, (await Json(await server.Http.GetAsync("/health"))).GetProperty("collections").GetInt32());
    }

    [Fact]
    public async Task Idle_collections_are_closed()
    {
        await using RunningServer server = await RunningServer.StartAsync(o => o.CollectionIdleTimeout = TimeSpan.FromMinutes(10));
        using (var form = Form(TestModel.Photo("bananas.jpg"), "b.jpg"))
        {
            Assert.Equal(HttpStatusCode.Created, (await server.Http.PostAsync("/v1/collections/idle/items", form)).StatusCode);
        }

        Assert.Equal(1, server.Registry.OpenCount);
        server.Registry.CloseIdle(); // used a moment ago: stays
        Assert.Equal(1, server.Registry.OpenCount);

        await using RunningServer quick = await RunningServer.StartAsync(o => o.CollectionIdleTimeout = TimeSpan.FromMilliseconds(1));
        using (var form = Form(TestModel.Photo("bananas.jpg"), "b.jpg"))
        {
            Assert.Equal(HttpStatusCode.Created, (await quick.Http.PostAsync("/v1/collections/idle/items", form)).StatusCode);
        }

        await Task.Delay(20);
        quick.Registry.CloseIdle();
        Assert.Equal(0, quick.Registry.OpenCount);
        // Closed is not gone: the next request reopens it.
        Assert.Equal(HttpStatusCode.OK, (await quick.Http.GetAsync("/v1/collections/idle/items/1/content")).StatusCode);
    }

    [Fact]
    public async Task Identical_bytes_from_two_clients_are_two_items_and_each_delete_removes_only_its_own()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        byte[] photo = TestModel.Photo("cat_chelsea.png");
        using var alice = Form(photo, "alice.png");
        using var bob = Form(photo, "bob.png");
        long aliceId = (await Json(await server.Http.PostAsync("/v1/collections/shared/items", alice))).GetProperty("items")[0].GetProperty("id").GetInt64();
        long bobId = (await Json(await server.Http.PostAsync("/v1/collections/shared/items", bob))).GetProperty("items")[0].GetProperty("id").GetInt64();
        Assert.NotEqual(aliceId, bobId);

        Assert.Equal(HttpStatusCode.NoContent, (await server.Http.DeleteAsync($"/v1/collections/shared/items/{aliceId}")).StatusCode);
        Assert.Equal(photo, await server.Http.GetByteArrayAsync($"/v1/collections/shared/items/{bobId}/content"));
        JsonElement found = await Json(await server.Http.PostAsync("/v1/search", new StringContent("""{"collection":"shared","text":"cat"}""", Encoding.UTF8, "application/json")));
        Assert.Equal("bob.png", found.GetProperty("results")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Concurrent_uploads_and_deletes_of_the_same_image_leave_no_row_without_its_file_and_no_orphan()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        byte[] photo = TestModel.Photo("cat_chelsea.png");
        int notFoundAfterAck = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 12), new ParallelOptions { MaxDegreeOfParallelism = 12 }, async (client, ct) =>
        {
            for (int round = 0; round < 8; round++)
            {
                using var form = Form(photo, $"client{client}.png");
                HttpResponseMessage uploaded = await server.Http.PostAsync("/v1/collections/race/items", form, ct);
                long id = (await Json(uploaded)).GetProperty("items")[0].GetProperty("id").GetInt64();
                // Straight after the acknowledgement the file is there, whatever the others delete.
                HttpResponseMessage content = await server.Http.GetAsync($"/v1/collections/race/items/{id}/content", ct);
                if (content.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref notFoundAfterAck);
                }

                if (round % 2 == 0)
                {
                    Assert.Equal(HttpStatusCode.NoContent, (await server.Http.DeleteAsync($"/v1/collections/race/items/{id}", ct)).StatusCode);
                }
            }
        });

        Assert.Equal(0, notFoundAfterAck);
        AssertNoOrphans(server.Store, "race", expectedRows: 12 * 4);
    }

    private static void AssertNoOrphans(string store, string name, int expectedRows)
    {
        using Collection collection = new CollectionStore(store).Open(name);
        CollectionItem[] rows = collection.Items().ToArray();
        Assert.Equal(expectedRows, rows.Length);
        Assert.All(rows, r => Assert.True(File.Exists(r.Path), $"row {r.Id} names a missing file"));
        string[] files = Directory.GetFiles(Path.Combine(store, name, "uploads"));
        Assert.Equal(rows.Select(r => r.Path).Order(StringComparer.Ordinal), files.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Files_left_by_a_kill_before_the_commit_are_swept_on_the_next_start()
    {
        string store = Path.Combine(Path.GetTempPath(), "omnivec-srv-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (RunningServer first = await RunningServer.StartAsync(o => o.StoreRoot = store))
            {
                using var form = Form(TestModel.Photo("bananas.jpg"), "b.jpg");
                Assert.Equal(HttpStatusCode.Created, (await first.Http.PostAsync("/v1/collections/kept/items", form)).StatusCode);
            }

            // What a kill -9 between writing the file and committing its row leaves behind.
            string uploads = Path.Combine(store, "kept", "uploads");
            await File.WriteAllBytesAsync(Path.Combine(uploads, "0123456789abcdef-000000000000.jpg"), TestModel.Photo("bananas.jpg"));
            await File.WriteAllBytesAsync(Path.Combine(uploads, "fedcba9876543210-111111111111.jpg.tmp"), [1, 2, 3]);

            await using RunningServer second = await RunningServer.StartAsync(o => o.StoreRoot = store);
            JsonElement found = await Json(await second.Http.PostAsync("/v1/search", new StringContent("""{"collection":"kept","text":"x"}""", Encoding.UTF8, "application/json")));
            Assert.Equal(1, found.GetProperty("results").GetArrayLength());
            AssertNoOrphans(store, "kept", expectedRows: 1);

            // bytes_on_disk counts the uploads too.
            JsonElement listing = await Json(await second.Http.GetAsync("/v1/collections"));
            long bytes = listing.EnumerateArray().Single(c => c.GetProperty("name").GetString() == "kept").GetProperty("bytes_on_disk").GetInt64();
            long db = Directory.GetFiles(Path.Combine(store, "kept")).Sum(f => new FileInfo(f).Length);
            Assert.Equal(db + TestModel.Photo("bananas.jpg").Length, bytes);
        }
        finally
        {
            Directory.Delete(store, recursive: true);
        }
    }

    [Fact]
    public async Task Uploads_can_be_limited_to_existing_collections()
    {
        await using RunningServer server = await RunningServer.StartAsync(o => o.CreateCollectionsOnUpload = false);
        using var form = Form(TestModel.Photo("bananas.jpg"), "b.jpg");
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.PostAsync("/v1/collections/fresh/items", form)).StatusCode);
        Assert.Empty(CollectionFolders(server));
    }

    [Fact]
    public async Task Uploads_and_embeddings_have_a_pixel_budget_per_request()
    {
        await using RunningServer server = await RunningServer.StartAsync(o => o.MaxPixelsPerRequest = 200_000);
        byte[] photo = TestModel.Photo("cat_chelsea.png"); // 451 x 300 = 135,300 pixels: two are over 200,000
        using var form = new MultipartFormDataContent { { new ByteArrayContent(photo), "files", "a.png" }, { new ByteArrayContent(photo), "files", "b.png" } };
        HttpResponseMessage upload = await server.Http.PostAsync("/v1/collections/budget/items", form);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, upload.StatusCode);
        Assert.Contains("MaxPixelsPerRequest", await upload.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(server.Embedder.ImageRuns);
        Assert.Empty(CollectionFolders(server));

        string b64 = Convert.ToBase64String(photo);
        HttpResponseMessage embed = await server.Http.PostAsync("/v1/embeddings",
            new StringContent(JsonSerializer.Serialize(new { input = new[] { new { image = b64 }, new { image = b64 } } }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, embed.StatusCode);
        Assert.Empty(server.Embedder.ImageRuns);
    }

    [Fact]
    public async Task Multipart_search_honours_filters()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(TestModel.Photo("cat_chelsea.png")), "files", "cat.png" },
            { new ByteArrayContent(TestModel.Photo("bananas.jpg")), "files", "bananas.jpg" },
        };
        Assert.Equal(HttpStatusCode.Created, (await server.Http.PostAsync("/v1/collections/f/items", form)).StatusCode);
        using var search = new MultipartFormDataContent
        {
            { new ByteArrayContent(TestModel.Photo("cat_chelsea.png")), "image", "q.png" },
            { new StringContent("f"), "collection" },
            { new StringContent("""{"media_type":"image/jpeg"}"""), "filter" },
        };
        JsonElement results = (await Json(await server.Http.PostAsync("/v1/search", search))).GetProperty("results");
        Assert.Equal("image/jpeg", Assert.Single(results.EnumerateArray()).GetProperty("media_type").GetString());

        using var bad = new MultipartFormDataContent { { new StringContent("x"), "text" }, { new StringContent("{not json"), "filter" }, { new StringContent("f"), "collection" } };
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.PostAsync("/v1/search", bad)).StatusCode);
    }
}
