using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Omnivec.Index.Postgres.Tests;
using SkiaSharp;

namespace Omnivec.Server.Tests;

/// <summary>
/// The server on PostgreSQL (PGlite with the real pgvector, started by the test), as <c>omnivec serve --store
/// postgresql://…</c> runs it: upload, search, thumbnail, content, delete; the same answers as on the embedded store;
/// a second replica on the same database sees the same collection.
/// </summary>
public sealed class PostgresServerTests : IDisposable
{
    private readonly string _uploads = Directory.CreateTempSubdirectory("omnivec-srv-pg-").FullName;
    private readonly PgliteServer _postgres = new();

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static Task<HttpResponseMessage> PostJson(HttpClient http, string path, string json) =>
        http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> Upload(HttpClient http, string collection, params string[] files)
    {
        using var form = new MultipartFormDataContent();
        foreach (string file in files)
        {
            var part = new ByteArrayContent(TestModel.Photo(file));
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", file);
        }

        HttpResponseMessage upload = await http.PostAsync($"/v1/collections/{collection}/items", form);
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        return await Json(upload);
    }

    private static string[] Names(JsonElement search) =>
        search.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).ToArray();

    [Fact]
    public async Task Upload_search_thumbnail_content_delete_on_postgresql_match_the_embedded_store()
    {
        string[] photos = ["cat_chelsea.png", "bananas.jpg", "astronaut.png", "two_beagles.jpg", "hotdog.jpg"];
        await using RunningServer pg = await RunningServer.StartAsync(o =>
        {
            o.StoreRoot = _postgres.Uri;
            o.UploadsRoot = _uploads;
        });
        await using RunningServer embedded = await RunningServer.StartAsync();

        JsonElement uploaded = await Upload(pg.Http, "photos", photos);
        await Upload(embedded.Http, "photos", photos);
        JsonElement items = uploaded.GetProperty("items");
        Assert.Equal(photos.Length, items.GetArrayLength());
        long catId = items.EnumerateArray().Single(i => i.GetProperty("name").GetString() == "cat_chelsea.png").GetProperty("id").GetInt64();
        string catPath = Path.Combine(_uploads, "photos", items.EnumerateArray().Single(i => i.GetProperty("id").GetInt64() == catId).GetProperty("path").GetString()!);
        Assert.True(File.Exists(catPath));
        Assert.DoesNotContain(PgliteServer.Password, uploaded.ToString(), StringComparison.Ordinal);

        Assert.Equal(photos.Length, (await Json(await pg.Http.GetAsync("/v1/collections"))).EnumerateArray().Single(c => c.GetProperty("name").GetString() == "photos").GetProperty("count").GetInt64());

        // Text, image and filtered searches rank as on the embedded store.
        foreach (string query in new[]
        {
            """{"collection":"photos","text":"a cat","top_k":10}""",
            """{"collection":"photos","text":"food","top_k":3}""",
            """{"collection":"photos","text":"x","filter":{"media_type":"image/jpeg"}}""",
            JsonSerializer.Serialize(new { collection = "photos", image = Convert.ToBase64String(TestModel.Photo("hotdog.jpg")) }),
        })
        {
            JsonElement expected = await Json(await PostJson(embedded.Http, "/v1/search", query));
            JsonElement actual = await Json(await PostJson(pg.Http, "/v1/search", query));
            Assert.Equal(Names(expected), Names(actual));
            Assert.NotEmpty(Names(actual));
            for (int i = 0; i < Names(actual).Length; i++)
            {
                Assert.Equal(expected.GetProperty("results")[i].GetProperty("score").GetDouble(), actual.GetProperty("results")[i].GetProperty("score").GetDouble(), 4);
            }
        }

        // By item id: the item itself is left out.
        JsonElement byItem = await Json(await PostJson(pg.Http, "/v1/search", JsonSerializer.Serialize(new { collection = "photos", item_id = catId })));
        Assert.Equal(photos.Length - 1, byItem.GetProperty("results").GetArrayLength());
        Assert.DoesNotContain(byItem.GetProperty("results").EnumerateArray(), r => r.GetProperty("id").GetInt64() == catId);

        // Thumbnail and content.
        HttpResponseMessage thumb = await pg.Http.GetAsync($"/v1/collections/photos/items/{catId}/thumbnail?size=64");
        Assert.Equal(HttpStatusCode.OK, thumb.StatusCode);
        Assert.Equal("image/jpeg", thumb.Content.Headers.ContentType?.MediaType);
        using (SKBitmap bitmap = SKBitmap.Decode(await thumb.Content.ReadAsByteArrayAsync()))
        {
            Assert.Equal(64, Math.Max(bitmap.Width, bitmap.Height));
        }

        Assert.Equal(TestModel.Photo("cat_chelsea.png"), await pg.Http.GetByteArrayAsync($"/v1/collections/photos/items/{catId}/content"));

        // A second replica on the same database (and the same uploads volume) serves the same collection.
        await using (RunningServer replica = await RunningServer.StartAsync(o =>
        {
            o.StoreRoot = _postgres.Uri;
            o.UploadsRoot = _uploads;
        }))
        {
            JsonElement there = await Json(await PostJson(replica.Http, "/v1/search", """{"collection":"photos","text":"a cat","top_k":10}"""));
            Assert.Equal(Names(await Json(await PostJson(pg.Http, "/v1/search", """{"collection":"photos","text":"a cat","top_k":10}"""))), Names(there));
            Assert.Equal(HttpStatusCode.OK, (await replica.Http.GetAsync($"/v1/collections/photos/items/{catId}/thumbnail?size=64")).StatusCode);
        }

        // Delete: gone from the database and the uploads folder; then 404s.
        Assert.Equal(HttpStatusCode.NoContent, (await pg.Http.DeleteAsync($"/v1/collections/photos/items/{catId}")).StatusCode);
        Assert.False(File.Exists(catPath));
        Assert.Equal(HttpStatusCode.NotFound, (await pg.Http.DeleteAsync($"/v1/collections/photos/items/{catId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await pg.Http.GetAsync($"/v1/collections/photos/items/{catId}/thumbnail")).StatusCode);
        JsonElement after = await Json(await PostJson(pg.Http, "/v1/search", """{"collection":"photos","text":"a cat","top_k":10}"""));
        Assert.Equal(photos.Length - 1, after.GetProperty("results").GetArrayLength());
        Assert.DoesNotContain("cat_chelsea.png", Names(after));
    }

    public void Dispose()
    {
        _postgres.Dispose();
        try
        {
            Directory.Delete(_uploads, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
