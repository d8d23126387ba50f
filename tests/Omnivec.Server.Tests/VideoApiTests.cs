using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Omnivec.Index;
using Omnivec.Indexing;
using Omnivec.Tests;

namespace Omnivec.Server.Tests;

/// <summary>A store holding a folder with photos and a video of three shots (known cut times), served over HTTP.</summary>
public sealed class VideoStoreFixture : IAsyncLifetime
{
    public string Root { get; } = Directory.CreateTempSubdirectory("omnivec-srv-video-").FullName;

    public string Video => Path.Combine(Root, "media", "shots.mp4");

    /// <summary>The start of the bananas shot and of the tomatoes shot.</summary>
    public double[] Cuts { get; private set; } = [];

    internal RunningServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        string media = Directory.CreateDirectory(Path.Combine(Root, "media")).FullName;
        string store = Path.Combine(Root, "store");
        File.Copy(TestVideos.Photo("hotdog.jpg"), Path.Combine(media, "hotdog.jpg"));
        Cuts = TestVideos.MakeShots(Video, [("two_beagles.jpg", 2.0), ("bananas.jpg", 2.0), ("tomatoes.jpg", 2.0)]);
        using (Collection collection = new CollectionStore(store).OpenOrCreate("default", TestModel.Clip.Space))
        {
            FolderIndexReport report = await new FolderIndexer(TestModel.Clip, collection).IndexAsync(media);
            Assert.Empty(report.Failures);
            Assert.Equal(2, report.Added);
        }

        Server = await RunningServer.StartAsync(o =>
        {
            o.StoreRoot = store;
            o.ExposeFilePaths = true;
        });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }
}

public sealed class VideoApiTests(VideoStoreFixture fixture) : IClassFixture<VideoStoreFixture>
{
    private HttpClient Http => fixture.Server.Http;

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<JsonElement[]> SearchByPhotoAsync(string photo, int top = 10)
    {
        string json = JsonSerializer.Serialize(new { image = Convert.ToBase64String(TestModel.Photo(photo)), top_k = top });
        JsonElement response = await Json(await Http.PostAsync("/v1/search", new StringContent(json, Encoding.UTF8, "application/json")));
        return [.. response.GetProperty("results").EnumerateArray()];
    }

    [Fact]
    public async Task Search_returns_video_segments_with_their_offsets_and_a_thumbnail_of_the_moment()
    {
        JsonElement[] results = await SearchByPhotoAsync("bananas.jpg");
        JsonElement best = results.First(r => r.TryGetProperty("start_offset_sec", out _));
        double start = best.GetProperty("start_offset_sec").GetDouble();
        double end = best.GetProperty("end_offset_sec").GetDouble();
        // The best moment of the video is the bananas shot: it starts at its cut (within a quarter second) and ends by the next.
        Assert.InRange(start, fixture.Cuts[0] - 0.25, fixture.Cuts[0] + 0.25);
        Assert.InRange(end, start, fixture.Cuts[1] + 0.25);
        Assert.Equal(fixture.Video, best.GetProperty("path").GetString());
        Assert.Equal("shots.mp4", best.GetProperty("name").GetString());
        Assert.StartsWith("video/", best.GetProperty("media_type").GetString(), StringComparison.Ordinal);

        // Photos carry no offsets.
        JsonElement photo = results.Single(r => r.GetProperty("path").GetString()!.EndsWith("hotdog.jpg", StringComparison.Ordinal));
        Assert.False(photo.TryGetProperty("start_offset_sec", out _));
        Assert.False(photo.TryGetProperty("end_offset_sec", out _));

        // The segment's thumbnail is a frame of the moment, rendered by FFmpeg at the size asked for.
        HttpResponseMessage thumb = await Http.GetAsync(best.GetProperty("thumbnail_url").GetString() + "?size=64");
        Assert.Equal(HttpStatusCode.OK, thumb.StatusCode);
        Assert.Equal("image/jpeg", thumb.Content.Headers.ContentType?.MediaType);
        using (SkiaSharp.SKBitmap bitmap = SkiaSharp.SKBitmap.Decode(await thumb.Content.ReadAsByteArrayAsync()))
        {
            Assert.Equal(64, Math.Max(bitmap.Width, bitmap.Height));
        }

        // ...and it looks like the bananas photo more than like the other shots' photos.
        float[] thumbVector = await EmbedAsync(await Http.GetByteArrayAsync(best.GetProperty("thumbnail_url").GetString() + "?size=256"));
        float[][] photos = [await EmbedAsync(TestModel.Photo("bananas.jpg")), await EmbedAsync(TestModel.Photo("two_beagles.jpg")), await EmbedAsync(TestModel.Photo("tomatoes.jpg"))];
        float bananas = VectorMath.Cosine(thumbVector, photos[0]);
        Assert.True(bananas > VectorMath.Cosine(thumbVector, photos[1]));
        Assert.True(bananas > VectorMath.Cosine(thumbVector, photos[2]));

        // "More like this" from the moment: the other segments, not the moment itself.
        string byItem = JsonSerializer.Serialize(new { item_id = best.GetProperty("id").GetInt64(), top_k = 10 });
        JsonElement similar = await Json(await Http.PostAsync("/v1/search", new StringContent(byItem, Encoding.UTF8, "application/json")));
        Assert.DoesNotContain(similar.GetProperty("results").EnumerateArray(), r => r.GetProperty("id").GetInt64() == best.GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task Embeddings_of_a_video_input_are_its_segments_with_offsets_equal_to_the_library()
    {
        var expected = new List<Omnivec.Media.VideoSegmentVector>();
        var embedder = new Omnivec.Media.VideoEmbedder(TestModel.Clip, new Omnivec.Media.VideoSegmenter(null, new Omnivec.Media.VideoReader()));
        await foreach (Omnivec.Media.VideoSegmentVector segment in embedder.EmbedAsync(fixture.Video))
        {
            expected.Add(segment);
        }

        byte[] video = await File.ReadAllBytesAsync(fixture.Video);
        string json = JsonSerializer.Serialize(new { input = new object[] { new { text = "a dog" }, new { video = "data:video/mp4;base64," + Convert.ToBase64String(video) } } });
        JsonElement response = await Json(await Http.PostAsync("/v1/embeddings", new StringContent(json, Encoding.UTF8, "application/json")));
        JsonElement[] data = [.. response.GetProperty("data").EnumerateArray()];
        Assert.Equal([0, 1], data.Select(d => d.GetProperty("index").GetInt32()));
        Assert.False(data[0].TryGetProperty("segments", out _));

        // One segment per shot, cut where the shots change (within a quarter second), each vector the library's.
        Assert.Equal("video", data[1].GetProperty("modality").GetString());
        JsonElement[] segments = [.. data[1].GetProperty("segments").EnumerateArray()];
        Assert.Equal(3, segments.Length);
        Assert.Equal(expected.Count, segments.Length);
        Assert.InRange(segments[1].GetProperty("start_offset_sec").GetDouble(), fixture.Cuts[0] - 0.25, fixture.Cuts[0] + 0.25);
        Assert.InRange(segments[2].GetProperty("start_offset_sec").GetDouble(), fixture.Cuts[1] - 0.25, fixture.Cuts[1] + 0.25);
        for (int i = 0; i < segments.Length; i++)
        {
            Assert.Equal(expected[i].StartSec, segments[i].GetProperty("start_offset_sec").GetDouble(), 3);
            Assert.Equal(expected[i].EndSec, segments[i].GetProperty("end_offset_sec").GetDouble(), 3);
            float[] actual = [.. segments[i].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle())];
            Assert.True(VectorMath.Cosine(expected[i].Embedding.Vector.Span, actual) > 0.99999f, $"segment {i}");
        }

        // The input's own vector is the normalised mean of its segments; the bananas shot is nearest the bananas photo.
        float[] whole = [.. data[1].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle())];
        float[] mean = new float[whole.Length];
        foreach (Omnivec.Media.VideoSegmentVector segment in expected)
        {
            for (int d = 0; d < mean.Length; d++)
            {
                mean[d] += segment.Embedding.Vector.Span[d];
            }
        }

        Assert.True(VectorMath.Cosine(mean, whole) > 0.99999f);
        float[] bananas = await EmbedAsync(TestModel.Photo("bananas.jpg"));
        int nearest = Enumerable.Range(0, 3).MaxBy(i => VectorMath.Cosine(bananas, expected[i].Embedding.Vector.Span));
        Assert.Equal(1, nearest);

        // Not a video: a clear 400 naming the input.
        string bad = JsonSerializer.Serialize(new { input = new object[] { new { video = Convert.ToBase64String(Encoding.UTF8.GetBytes("not a video at all")) } } });
        HttpResponseMessage refused = await Http.PostAsync("/v1/embeddings", new StringContent(bad, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("input[0]", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Content_serves_the_video_with_http_ranges()
    {
        JsonElement best = (await SearchByPhotoAsync("tomatoes.jpg")).First(r => r.TryGetProperty("start_offset_sec", out _));
        string url = best.GetProperty("content_url").GetString()!;
        byte[] original = await File.ReadAllBytesAsync(fixture.Video);

        // Whole: the original bytes, announcing range support.
        HttpResponseMessage whole = await Http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal("video/mp4", whole.Content.Headers.ContentType?.MediaType);
        Assert.Contains("bytes", whole.Headers.AcceptRanges);
        Assert.Equal(original, await whole.Content.ReadAsByteArrayAsync());

        // A range: 206 with the part and a Content-Range naming it and the total.
        (HttpStatusCode status, ContentRangeHeaderValue? range, byte[] body) = await GetRangeAsync(url, "bytes=100-1123");
        Assert.Equal(HttpStatusCode.PartialContent, status);
        Assert.Equal($"bytes 100-1123/{original.Length}", range?.ToString());
        Assert.Equal(original[100..1124], body);

        // Open-ended and suffix ranges, as a player asks for them.
        (status, range, body) = await GetRangeAsync(url, "bytes=1000-");
        Assert.Equal(HttpStatusCode.PartialContent, status);
        Assert.Equal($"bytes 1000-{original.Length - 1}/{original.Length}", range?.ToString());
        Assert.Equal(original[1000..], body);
        (status, range, body) = await GetRangeAsync(url, "bytes=-500");
        Assert.Equal(HttpStatusCode.PartialContent, status);
        Assert.Equal(original[^500..], body);

        // A range past the end: 416 with the size.
        (status, range, _) = await GetRangeAsync(url, $"bytes={original.Length}-{original.Length + 10}");
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, status);
        Assert.Equal($"bytes */{original.Length}", range?.ToString());
    }

    [Fact]
    public async Task Content_serves_items_only_never_a_path()
    {
        foreach (string url in new[]
        {
            "/v1/collections/default/items/..%2F..%2F..%2Fetc%2Fpasswd/content",
            "/v1/collections/default/items/%2Fetc%2Fpasswd/content",
            "/v1/collections/..%2Fstore/items/1/content",
            "/v1/collections/default/items/999999/content",
            "/v1/collections/default/items/-1/content",
        })
        {
            HttpResponseMessage response = await Http.GetAsync(url);
            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{url}: {response.StatusCode}");
            Assert.DoesNotContain("root:", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    private static async Task<float[]> EmbedAsync(byte[] jpeg) =>
        (await ((IEmbeddingGenerator<DataContent, Embedding<float>>)TestModel.Clip).GenerateAsync(new DataContent(jpeg, "image/jpeg"))).Vector.ToArray();

    [Fact]
    public async Task An_uploaded_video_is_streamed_to_disk_segmented_and_searchable_and_deleted_whole()
    {
        string collection = "uploads-" + Guid.NewGuid().ToString("N")[..8];
        byte[] video = await File.ReadAllBytesAsync(fixture.Video);
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(video), "files", "holiday.mp4" },
            { new ByteArrayContent(TestModel.Photo("hotdog.jpg")), "files", "hotdog.jpg" },
        };
        HttpResponseMessage created = await Http.PostAsync($"/v1/collections/{collection}/items", form);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        JsonElement body = await Json(created);
        Assert.Empty(body.GetProperty("errors").EnumerateArray());
        JsonElement[] items = [.. body.GetProperty("items").EnumerateArray()];
        JsonElement[] segments = [.. items.Where(i => i.TryGetProperty("start_offset_sec", out _))];
        // Three shots of two seconds: at least one segment per shot, covering the video from 0 to its end, in order.
        Assert.InRange(segments.Length, 3, 6);
        Assert.Equal(0, segments[0].GetProperty("start_offset_sec").GetDouble(), 3);
        Assert.InRange(segments[^1].GetProperty("end_offset_sec").GetDouble(), 5.75, 6.25);
        Assert.All(segments, s =>
        {
            Assert.Equal("holiday.mp4", s.GetProperty("name").GetString());
            Assert.Equal("video/mp4", s.GetProperty("media_type").GetString());
            Assert.Equal(320, s.GetProperty("width").GetInt32());
        });
        Assert.Equal("image/jpeg", items.Single(i => !i.TryGetProperty("start_offset_sec", out _)).GetProperty("media_type").GetString());
        string stored = Path.Combine(fixture.Server.Store, collection, "uploads");
        Assert.Single(Directory.GetFiles(stored, "*.mp4"));
        Assert.Empty(Directory.GetFiles(Path.Combine(fixture.Server.Store, collection, "incoming")));

        // Searchable at once: the bananas photo finds the uploaded video's bananas shot, whose content is the upload.
        string json = JsonSerializer.Serialize(new { collection, image = Convert.ToBase64String(TestModel.Photo("bananas.jpg")), top_k = 10 });
        JsonElement found = await Json(await Http.PostAsync("/v1/search", new StringContent(json, Encoding.UTF8, "application/json")));
        JsonElement best = found.GetProperty("results").EnumerateArray().First(r => r.TryGetProperty("start_offset_sec", out _));
        Assert.InRange(best.GetProperty("start_offset_sec").GetDouble(), fixture.Cuts[0] - 0.25, fixture.Cuts[0] + 0.25);
        Assert.Equal(video, await Http.GetByteArrayAsync(best.GetProperty("content_url").GetString()));

        // Deleting one moment removes the video: every segment, and the stored file.
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"/v1/collections/{collection}/items/{best.GetProperty("id").GetInt64()}")).StatusCode);
        Assert.Empty(Directory.GetFiles(stored, "*.mp4"));
        foreach (JsonElement segment in segments)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"/v1/collections/{collection}/items/{segment.GetProperty("id").GetInt64()}/content")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"/v1/collections/{collection}/items/{items.Single(i => !i.TryGetProperty("start_offset_sec", out _)).GetProperty("id").GetInt64()}/content")).StatusCode);
    }

    [Fact]
    public async Task A_damaged_video_upload_is_a_clean_error_that_leaves_nothing_behind()
    {
        string collection = "bad-" + Guid.NewGuid().ToString("N")[..8];
        byte[] video = await File.ReadAllBytesAsync(fixture.Video);
        using var form = new MultipartFormDataContent
        {
            // An MP4 cut after 2 KB (its header says video, its frames are gone), and text named like a video.
            { new ByteArrayContent(video[..2048]), "files", "truncated.mp4" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes("not a video at all\n")), "files", "notes.mkv" },
        };
        HttpResponseMessage response = await Http.PostAsync($"/v1/collections/{collection}/items", form);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {text}");
        JsonElement[] errors = [.. JsonDocument.Parse(text).RootElement.GetProperty("errors").EnumerateArray()];
        Assert.Equal(["notes.mkv", "truncated.mp4"], errors.Select(e => e.GetProperty("name").GetString()).Order());
        Assert.All(errors, e => Assert.DoesNotContain(fixture.Server.Store, e.GetProperty("error").GetString(), StringComparison.Ordinal));
        // Nothing created: no collection, no stored or staged file.
        Assert.False(Directory.Exists(Path.Combine(fixture.Server.Store, collection, "uploads")));
        Assert.Empty(Directory.Exists(Path.Combine(fixture.Server.Store, collection, "incoming")) ? Directory.GetFiles(Path.Combine(fixture.Server.Store, collection, "incoming")) : []);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.PostAsync("/v1/search",
            new StringContent(JsonSerializer.Serialize(new { collection, text = "x" }), Encoding.UTF8, "application/json"))).StatusCode);
    }

    [Fact]
    public async Task Video_uploads_have_their_own_size_limit_and_images_keep_theirs()
    {
        byte[] video = await File.ReadAllBytesAsync(fixture.Video);
        byte[] photo = TestModel.Photo("bananas.jpg");
        long small = Math.Min(video.Length, photo.Length) - 1;
        // Requests are limited to less than either file; video uploads to more than the video.
        await using (RunningServer server = await RunningServer.StartAsync(o => { o.MaxRequestBytes = small; o.MaxVideoUploadBytes = video.Length + (64 << 10); }))
        {
            using var ok = new MultipartFormDataContent { { new ByteArrayContent(video), "files", "clip.mp4" } };
            HttpResponseMessage created = await server.Http.PostAsync("/v1/collections/default/items", ok);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

            // An image above the request limit is refused even though the upload route takes bigger bodies.
            using var image = new MultipartFormDataContent { { new ByteArrayContent(photo), "files", "bananas.jpg" } };
            HttpResponseMessage refused = await server.Http.PostAsync("/v1/collections/default/items", image);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("limit for images", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Above the video limit: 413 before the body is all read.
        await using (RunningServer server = await RunningServer.StartAsync(o => { o.MaxRequestBytes = small; o.MaxVideoUploadBytes = video.Length / 2; }))
        {
            using var tooBig = new MultipartFormDataContent { { new ByteArrayContent(video), "files", "clip.mp4" } };
            HttpResponseMessage response = await server.Http.PostAsync("/v1/collections/default/items", tooBig);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains($"{video.Length / 2:N0} bytes", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(server.Store, "default")));
        }
    }

    private async Task<(HttpStatusCode Status, ContentRangeHeaderValue? Range, byte[] Body)> GetRangeAsync(string url, string range)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("Range", range);
        using HttpResponseMessage response = await Http.SendAsync(request);
        return (response.StatusCode, response.Content.Headers.ContentRange, await response.Content.ReadAsByteArrayAsync());
    }
}
