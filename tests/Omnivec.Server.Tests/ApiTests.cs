using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Embeddings;
using Omnivec.Tests;
using SkiaSharp;

namespace Omnivec.Server.Tests;

public sealed class ApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;
    private HttpClient Http => fixture.Server.Http;

    private static EmbeddingClient OpenAIClient(Uri baseAddress, string key = "unused") =>
        new("whatever-model", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(baseAddress, "/v1") });

    private static void AssertSameVector(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(VectorMath.Cosine(expected, actual) > 0.99999f, $"cosine {VectorMath.Cosine(expected, actual)}");
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<string> AssertProblem(HttpResponseMessage response, HttpStatusCode status, string detailContains)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = JsonDocument.Parse(body).RootElement;
        string detail = problem.GetProperty("detail").GetString()!;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        // The same message in OpenAI's error shape, for OpenAI SDKs.
        Assert.Equal(detail, problem.GetProperty("error").GetProperty("message").GetString());
        Assert.Contains(detailContains, detail, StringComparison.OrdinalIgnoreCase);
        return detail;
    }

    private Task<HttpResponseMessage> PostJson(string path, string json) =>
        Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task OpenAI_client_text_embeddings_equal_the_library()
    {
        string[] texts = ["a photo of a cat", "three bananas on a table"];
        OpenAIEmbeddingCollection result = (await OpenAIClient(Server.BaseAddress).GenerateEmbeddingsAsync(texts)).Value;
        float[][] expected = TestModel.Clip.EmbedTexts(texts);
        Assert.Equal(2, result.Count);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(i, result[i].Index);
            AssertSameVector(expected[i], result[i].ToFloats().Span);
        }

        Assert.Equal(TestModel.Clip.Space.ModelId, result.Model);
        Assert.True(result.Usage.InputTokenCount > 0);
    }

    [Fact]
    public async Task MEAI_generator_over_the_OpenAI_client_round_trips_and_dimensions_are_checked()
    {
        IEmbeddingGenerator<string, Embedding<float>> generator = OpenAIClient(Server.BaseAddress).AsIEmbeddingGenerator();
        Embedding<float> embedding = await generator.GenerateAsync("a dog on the beach");
        AssertSameVector(TestModel.Clip.EmbedTexts(["a dog on the beach"])[0], embedding.Vector.Span);

        var same = await generator.GenerateAsync(["x"], new Microsoft.Extensions.AI.EmbeddingGenerationOptions { Dimensions = TestModel.Clip.Dimensions });
        Assert.Equal(TestModel.Clip.Dimensions, same[0].Vector.Length);
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            generator.GenerateAsync(["x"], new Microsoft.Extensions.AI.EmbeddingGenerationOptions { Dimensions = 32 }));
        Assert.Equal(400, error.Status);
        Assert.Contains($"produces {TestModel.Clip.Dimensions}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Float_and_base64_encodings_carry_the_same_vector()
    {
        HttpResponseMessage asFloat = await PostJson("/v1/embeddings", """{"input":"red car","encoding_format":"float"}""");
        HttpResponseMessage asBase64 = await PostJson("/v1/embeddings", """{"input":["red car"],"encoding_format":"base64","model":"x"}""");
        Assert.Equal(HttpStatusCode.OK, asFloat.StatusCode);
        Assert.Equal(HttpStatusCode.OK, asBase64.StatusCode);
        JsonElement f = await Json(asFloat);
        JsonElement b = await Json(asBase64);
        Assert.Equal("list", f.GetProperty("object").GetString());
        Assert.Equal("embedding", f.GetProperty("data")[0].GetProperty("object").GetString());
        float[] floats = f.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        float[] decoded = MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(b.GetProperty("data")[0].GetProperty("embedding").GetString()!)).ToArray();
        Assert.Equal(floats, decoded);
        AssertSameVector(TestModel.Clip.EmbedTexts(["red car"])[0], decoded);
        Assert.True(f.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
    }

    [Fact]
    public async Task Multimodal_request_matches_the_library_for_text_base64_and_data_url()
    {
        byte[] cat = TestModel.Photo("cat_chelsea.png");
        byte[] bananas = TestModel.Photo("bananas.jpg");
        string body = JsonSerializer.Serialize(new
        {
            input = new object[]
            {
                new { text = "a cat" },
                new { image = Convert.ToBase64String(cat) },
                new { image = "data:image/jpeg;base64," + Convert.ToBase64String(bananas) },
                "plain text",
            },
        });
        HttpResponseMessage response = await PostJson("/v1/embeddings", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement data = (await Json(response)).GetProperty("data");
        float[] Vector(int i) => data[i].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();

        float[][] texts = TestModel.Clip.EmbedTexts(["a cat", "plain text"]);
        var images = TestModel.Clip.EmbedImages([cat, bananas]);
        AssertSameVector(texts[0], Vector(0));
        AssertSameVector(images[0].Embedding!.Vector.Span, Vector(1));
        AssertSameVector(images[1].Embedding!.Vector.Span, Vector(2));
        AssertSameVector(texts[1], Vector(3));
        Assert.Equal([0, 1, 2, 3], data.EnumerateArray().Select(d => d.GetProperty("index").GetInt32()));
    }

    [Fact]
    public async Task Upload_search_thumbnail_content_delete()
    {
        const string name = "photos";
        using var form = new MultipartFormDataContent();
        foreach (string file in new[] { "cat_chelsea.png", "bananas.jpg", "astronaut.png" })
        {
            var part = new ByteArrayContent(TestModel.Photo(file));
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", file);
        }

        var broken = new ByteArrayContent([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        form.Add(broken, "files", "broken.png");
        HttpResponseMessage upload = await Http.PostAsync($"/v1/collections/{name}/items", form);
        JsonElement uploaded = await Json(upload);
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        JsonElement items = uploaded.GetProperty("items");
        Assert.Equal(3, items.GetArrayLength());
        JsonElement error = Assert.Single(uploaded.GetProperty("errors").EnumerateArray());
        Assert.Equal("broken.png", error.GetProperty("name").GetString());
        long catId = items.EnumerateArray().Single(i => i.GetProperty("name").GetString() == "cat_chelsea.png").GetProperty("id").GetInt64();
        string catPath = items.EnumerateArray().Single(i => i.GetProperty("id").GetInt64() == catId).GetProperty("path").GetString()!;
        // Paths are relative to the collection: the server's own folders stay private.
        Assert.StartsWith("uploads/", catPath, StringComparison.Ordinal);
        Assert.DoesNotContain(Server.Store, await upload.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        catPath = Path.Combine(Server.Store, name, catPath);
        Assert.True(File.Exists(catPath));
        Assert.Equal(451, items.EnumerateArray().Single(i => i.GetProperty("id").GetInt64() == catId).GetProperty("width").GetInt32());

        // By text: every item comes back, scored.
        JsonElement byText = await Json(await PostJson("/v1/search", $$"""{"collection":"{{name}}","text":"a cat","top_k":10}"""));
        JsonElement wide = await Json(await PostJson("/v1/search", $$"""{"collection":"{{name}}","text":"a cat","top_k":10,"ef":256}"""));
        Assert.Equal(byText.GetProperty("results").ToString(), wide.GetProperty("results").ToString());
        Assert.Equal(name, byText.GetProperty("collection").GetString());
        Assert.Equal(3, byText.GetProperty("results").GetArrayLength());
        JsonElement first = byText.GetProperty("results")[0];
        foreach (string field in new[] { "id", "score", "path", "media_type", "width", "height", "size_bytes", "taken_at", "thumbnail_url" })
        {
            Assert.True(first.TryGetProperty(field, out _), field);
        }

        // By the same image: the uploaded cat is the best match.
        JsonElement byImage = await Json(await PostJson("/v1/search",
            JsonSerializer.Serialize(new { collection = name, image = Convert.ToBase64String(TestModel.Photo("cat_chelsea.png")) })));
        Assert.Equal(catId, byImage.GetProperty("results")[0].GetProperty("id").GetInt64());
        // Uploads are stored under their hash; results carry the name the person uploaded.
        Assert.Equal("cat_chelsea.png", byImage.GetProperty("results")[0].GetProperty("name").GetString());
        Assert.True(byImage.GetProperty("results")[0].GetProperty("score").GetSingle() > 0.999f);

        // Multipart drag-and-drop search.
        using var dropped = new MultipartFormDataContent { { new ByteArrayContent(TestModel.Photo("cat_chelsea.png")), "image", "cat.png" }, { new StringContent(name), "collection" } };
        JsonElement byDrop = await Json(await Http.PostAsync("/v1/search", dropped));
        Assert.Equal(catId, byDrop.GetProperty("results")[0].GetProperty("id").GetInt64());

        // By item id: the item itself is left out.
        JsonElement byItem = await Json(await PostJson("/v1/search", JsonSerializer.Serialize(new { collection = name, item_id = catId, filter = new { media_type = "image/" } })));
        Assert.Equal(2, byItem.GetProperty("results").GetArrayLength());
        Assert.DoesNotContain(byItem.GetProperty("results").EnumerateArray(), r => r.GetProperty("id").GetInt64() == catId);

        // Filters apply.
        JsonElement filtered = await Json(await PostJson("/v1/search", JsonSerializer.Serialize(new { collection = name, text = "x", filter = new { media_type = "image/jpeg" } })));
        Assert.All(filtered.GetProperty("results").EnumerateArray(), r => Assert.Equal("image/jpeg", r.GetProperty("media_type").GetString()));

        // Thumbnail: a JPEG no larger than asked for.
        string thumbUrl = first.GetProperty("thumbnail_url").GetString()!;
        HttpResponseMessage thumb = await Http.GetAsync(thumbUrl + "?size=64");
        Assert.Equal(HttpStatusCode.OK, thumb.StatusCode);
        Assert.Equal("image/jpeg", thumb.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(thumb.Headers.CacheControl);
        byte[] jpeg = await thumb.Content.ReadAsByteArrayAsync();
        Assert.Equal([0xFF, 0xD8, 0xFF], jpeg[..3]);
        using (SKBitmap bitmap = SKBitmap.Decode(jpeg))
        {
            Assert.Equal(64, Math.Max(bitmap.Width, bitmap.Height));
        }

        // Content: the original bytes.
        byte[] original = await Http.GetByteArrayAsync($"/v1/collections/{name}/items/{catId}/content");
        Assert.Equal(TestModel.Photo("cat_chelsea.png"), original);

        // Listing shows the collection in the server's space.
        JsonElement listing = await Json(await Http.GetAsync("/v1/collections"));
        JsonElement entry = listing.EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
        Assert.Equal(3, entry.GetProperty("count").GetInt64());
        Assert.Equal(TestModel.Clip.Space.ModelId, entry.GetProperty("model").GetString());
        Assert.Equal(TestModel.Clip.Dimensions, entry.GetProperty("dimensions").GetInt32());
        Assert.Equal("local", entry.GetProperty("provider").GetString());
        Assert.True(entry.GetProperty("bytes_on_disk").GetInt64() > 0);

        // Delete: gone, its uploaded file too, then 404s.
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"/v1/collections/{name}/items/{catId}")).StatusCode);
        Assert.False(File.Exists(catPath));
        await AssertProblem(await Http.DeleteAsync($"/v1/collections/{name}/items/{catId}"), HttpStatusCode.NotFound, "no item");
        await AssertProblem(await Http.GetAsync($"/v1/collections/{name}/items/{catId}/thumbnail"), HttpStatusCode.NotFound, "no item");
        await AssertProblem(await Http.GetAsync($"/v1/collections/{name}/items/{catId}/content"), HttpStatusCode.NotFound, "no item");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"nope","text":"x"}"""), HttpStatusCode.NotFound, "nope");
    }

    [Fact]
    public async Task Upload_into_a_collection_of_another_space_is_a_conflict()
    {
        var store = new Omnivec.Index.CollectionStore(Server.Store);
        store.OpenOrCreate("other-space", new EmbeddingSpace("local", "some-other-model", "", 512)).Dispose();
        using var form = new MultipartFormDataContent { { new ByteArrayContent(TestModel.Photo("bananas.jpg")), "files", "bananas.jpg" } };
        await AssertProblem(await Http.PostAsync("/v1/collections/other-space/items", form), HttpStatusCode.Conflict, "some-other-model");
    }

    [Fact]
    public async Task Classify_gives_probabilities_that_sum_to_one()
    {
        string body = JsonSerializer.Serialize(new { image = Convert.ToBase64String(TestModel.Photo("cat_chelsea.png")), labels = new[] { "cat", "dog", "banana" }, templates = "simple" });
        JsonElement result = await Json(await PostJson("/v1/classify", body));
        JsonElement[] labels = result.GetProperty("labels").EnumerateArray().ToArray();
        Assert.Equal(3, labels.Length);
        Assert.Equal(1.0, labels.Sum(l => l.GetProperty("probability").GetDouble()), 3);
        float[] p = labels.Select(l => l.GetProperty("probability").GetSingle()).ToArray();
        Assert.Equal(p.OrderByDescending(x => x), p);
        Assert.All(labels, l => Assert.True(l.TryGetProperty("similarity", out _)));

        // Multipart form with comma-separated labels gives the same answer (and reuses the cached class vectors).
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(TestModel.Photo("cat_chelsea.png")), "image", "cat.png" },
            { new StringContent("cat, dog, banana"), "labels" },
            { new StringContent("simple"), "templates" },
        };
        JsonElement again = await Json(await Http.PostAsync("/v1/classify", form));
        Assert.Equal(labels.Select(l => l.GetProperty("label").GetString()), again.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("label").GetString()));
    }

    [Fact]
    public async Task Health_and_OpenAPI_document()
    {
        JsonElement health = await Json(await Http.GetAsync("/health"));
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(TestModel.Clip.Dimensions, health.GetProperty("dimensions").GetInt32());
        Assert.Equal(TestModel.Clip.Space.ModelId, health.GetProperty("model").GetString());
        Assert.True(health.GetProperty("collections").GetInt32() >= 0);

        JsonElement paths = (await Json(await Http.GetAsync("/openapi/v1.json"))).GetProperty("paths");
        foreach (string route in new[] { "/v1/embeddings", "/v1/search", "/v1/classify", "/v1/collections", "/v1/collections/{name}/items",
                     "/v1/collections/{name}/items/{id}", "/v1/collections/{name}/items/{id}/thumbnail", "/v1/collections/{name}/items/{id}/content", "/health" })
        {
            Assert.True(paths.TryGetProperty(route, out _), route + " missing from the OpenAPI document");
        }
    }

    public static TheoryData<string, int, string> BadEmbeddingRequests => new()
    {
        { """{"input": "unterminated""", 400, "not valid JSON" },
        { """[1,2]""", 400, "JSON object" },
        { """{"input": 5}""", 400, "got a number" },
        { """{"input": true}""", 400, "got a boolean" },
        { """{}""", 400, "'input' is required" },
        { """{"input": []}""", 400, "empty array" },
        { """{"input": ""}""", 400, "empty" },
        { """{"input": [1, 2, 3]}""", 400, "token ids are not supported" },
        { """{"input": [[1, 2], [3]]}""", 400, "token ids are not supported" },
        { """{"input": ["a","b","c","d","e","f","g","h","i"]}""", 400, "limit is 8" },
        { $$"""{"input": "{{new string('a', 201)}}"}""", 400, "limit is 200" },
        { """{"input": "x", "dimensions": 32}""", 400, "produces 64" },
        { """{"input": "x", "dimensions": "64"}""", 400, "'dimensions' must be an integer" },
        { """{"input": "x", "encoding_format": "int8"}""", 400, "encoding_format" },
        { """{"input": [{"image": "%%%not-base64%%%"}]}""", 400, "base64" },
        { """{"input": [{"image": "iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}]}""", 400, "input[0]" },
        { """{"input": [{"image": "aGVsbG8gd29ybGQ="}]}""", 400, "not a recognised image format" },
        { """{"input": [{"text": "a", "image": "b"}]}""", 400, "exactly one" },
        { """{"input": [{"image": 7}]}""", 400, "input[0].image" },
        { """{"input": [{"image": "file:///etc/passwd"}]}""", 400, "not supported" },
        { """{"input": [{"image": "ftp://127.0.0.1/x.png"}]}""", 400, "not supported" },
    };

    [Theory]
    [MemberData(nameof(BadEmbeddingRequests))]
    public async Task Bad_embedding_requests_are_4xx_problems_and_the_server_lives_on(string body, int status, string detail)
    {
        await AssertProblem(await PostJson("/v1/embeddings", body), (HttpStatusCode)status, detail);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Oversized_images_and_bodies_are_refused_with_413()
    {
        using var bitmap = new SKBitmap(1200, 1000);
        bitmap.Erase(SKColors.CornflowerBlue);
        using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        string body = JsonSerializer.Serialize(new { input = new[] { new { image = Convert.ToBase64String(png.ToArray()) } } });
        await AssertProblem(await PostJson("/v1/embeddings", body), HttpStatusCode.RequestEntityTooLarge, "1,000,000 pixels");

        // A body over the limit is refused from its declared length. A raw socket, because HttpClient would still be
        // writing the 5 MB when the server answers and closes.
        using var socket = new TcpClient();
        await socket.ConnectAsync(Server.BaseAddress.Host, Server.BaseAddress.Port);
        NetworkStream stream = socket.GetStream();
        byte[] head = Encoding.ASCII.GetBytes(
            $"POST /v1/embeddings HTTP/1.1\r\nHost: {Server.BaseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: {5 << 20}\r\n\r\n{{\"input\":\"");
        await stream.WriteAsync(head);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.StartsWith("HTTP/1.1 413", response, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", response, StringComparison.Ordinal);
        Assert.Contains("limit of 4,194,304 bytes", response, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Bad_search_and_classify_requests_are_problems()
    {
        await AssertProblem(await PostJson("/v1/search", """{"text":"a","image":"b"}"""), HttpStatusCode.BadRequest, "exactly one");
        await AssertProblem(await PostJson("/v1/search", """{"text":"a","top_k":0}"""), HttpStatusCode.BadRequest, "top_k");
        await AssertProblem(await PostJson("/v1/search", """{"text":"a","ef":0}"""), HttpStatusCode.BadRequest, "ef");
        await AssertProblem(await PostJson("/v1/search", """{"text":"a","ef":5000}"""), HttpStatusCode.BadRequest, "ef");
        await AssertProblem(await PostJson("/v1/search", """{"text":"a","filter":{"from":"yesterday"}}"""), HttpStatusCode.BadRequest, "ISO 8601");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"../etc","text":"a"}"""), HttpStatusCode.BadRequest, "not a valid collection name");
        await AssertProblem(await PostJson("/v1/classify", """{"image":"aGVsbG8=","labels":["one"]}"""), HttpStatusCode.BadRequest, "two distinct labels");
        await AssertProblem(await PostJson("/v1/classify", """{"image":"aGVsbG8=","labels":["a","b"],"templates":"fancy"}"""), HttpStatusCode.BadRequest, "templates");
        await AssertProblem(await Http.GetAsync("/v1/collections/x/items/1/thumbnail?size=5000"), HttpStatusCode.BadRequest, "size");
        await AssertProblem(await Http.GetAsync("/v1/nothing-here"), HttpStatusCode.NotFound, "No such resource");
    }

    [Fact]
    public async Task A_weighted_query_is_ranked_by_the_normalised_sum_and_bad_terms_are_problems_naming_the_term()
    {
        using var form = new MultipartFormDataContent();
        foreach (string file in new[] { "cat_chelsea.png", "bananas.jpg", "two_beagles.jpg" })
        {
            form.Add(new ByteArrayContent(TestModel.Photo(file)), "files", file);
        }

        JsonElement uploaded = await Json(await Http.PostAsync("/v1/collections/terms/items", form));
        long catId = uploaded.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "cat_chelsea.png").GetProperty("id").GetInt64();

        // normalise(1·e("a dog") − 0.5·e(bananas image) + 0.25·v(cat item)), ranked by cosine, computed here from the library.
        byte[] bananas = TestModel.Photo("bananas.jpg");
        float[] dog = TestModel.Clip.EmbedTexts(["a dog"])[0];
        float[] banana = TestModel.Clip.EmbedImageFiles([TestPaths.CorpusFile("images", "photos", "bananas.jpg")])[0].Embedding!.Vector.ToArray();
        float[] cat = TestModel.Clip.EmbedImageFiles([TestPaths.CorpusFile("images", "photos", "cat_chelsea.png")])[0].Embedding!.Vector.ToArray();
        float[] sum = new float[dog.Length];
        for (int d = 0; d < sum.Length; d++)
        {
            sum[d] = dog[d] / Norm(dog) - 0.5f * banana[d] / Norm(banana) + 0.25f * cat[d] / Norm(cat);
        }

        string query = JsonSerializer.Serialize(new
        {
            collection = "terms", all = true, top_k = 10,
            query = new object[]
            {
                new { text = "a dog", weight = 1 }, new { image = "data:image/jpeg;base64," + Convert.ToBase64String(bananas), weight = -0.5 }, new { item_id = catId, weight = 0.25 },
            },
        });
        JsonElement found = await Json(await PostJson("/v1/search", query));
        Assert.False(found.GetProperty("no_match").GetBoolean());
        JsonElement[] results = found.GetProperty("results").EnumerateArray().ToArray();
        // The cat is a positive example: left out, as "more like this" does.
        Assert.Equal(2, results.Length);
        Assert.DoesNotContain(results, r => r.GetProperty("id").GetInt64() == catId);
        foreach (JsonElement r in results)
        {
            float[] item = TestModel.Clip.EmbedImageFiles([TestPaths.CorpusFile("images", "photos", r.GetProperty("name").GetString()!)])[0].Embedding!.Vector.ToArray();
            Assert.Equal(VectorMath.Cosine(sum, item), r.GetProperty("score").GetSingle(), 4);
        }

        Assert.True(results[0].GetProperty("score").GetSingle() >= results[1].GetProperty("score").GetSingle());
        Assert.Contains("\"a dog\"", found.GetProperty("query").GetString(), StringComparison.Ordinal);

        // With the cutoff on (the default for 'query'), the answer says what it needed; three items are too few to cut.
        JsonElement cut = await Json(await PostJson("/v1/search", """{"collection":"terms","query":[{"text":"a dog"}],"min_score":0.999}"""));
        Assert.True(cut.GetProperty("no_match").GetBoolean());
        Assert.Equal(0.999f, cut.GetProperty("threshold").GetSingle());
        Assert.Empty(cut.GetProperty("results").EnumerateArray());

        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":[{"text":"a dog"},{"text":"a dog","weight":-1}]}"""), HttpStatusCode.BadRequest, "cancel out");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":[{"text":"a dog"},{"item_id":999999,"weight":0.5}]}"""), HttpStatusCode.BadRequest, "query[1]");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":[{"text":"a dog","image":"aGVsbG8="}]}"""), HttpStatusCode.BadRequest, "query[0]");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":[{"text":"a dog"},{"text":"cats","weight":"lots"}]}"""), HttpStatusCode.BadRequest, "query[1].weight");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":[{"text":"a dog"},{"colour":"red"}]}"""), HttpStatusCode.BadRequest, "query[1]");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":[{"text":"a dog"},{"image":"aGVsbG8=","weight":-1}]}"""), HttpStatusCode.BadRequest, "query[1].image");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":[]}"""), HttpStatusCode.BadRequest, "no terms");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":"a dog","text":"a cat"}"""), HttpStatusCode.BadRequest, "not both");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":"a dog","sort":"sideways"}"""), HttpStatusCode.BadRequest, "'sort'");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":"a dog","min_score":2}"""), HttpStatusCode.BadRequest, "min_score");
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":"a dog","all":"yes"}"""), HttpStatusCode.BadRequest, "'all'");

        // mode: hybrid (default) finds an upload by the name it was uploaded with even under a floor no picture clears;
        // vector does not; text finds only by name; hostile words are plain words; an unknown mode is a 400.
        JsonElement byName = await Json(await PostJson("/v1/search", """{"collection":"terms","query":"cat_chelsea","min_score":0.999}"""));
        Assert.Equal("hybrid", byName.GetProperty("mode").GetString());
        Assert.False(byName.GetProperty("no_match").GetBoolean());
        JsonElement named = Assert.Single(byName.GetProperty("results").EnumerateArray());
        Assert.Equal(catId, named.GetProperty("id").GetInt64());
        Assert.True(named.GetProperty("text_match").GetBoolean());
        Assert.Equal(VectorMath.Cosine(TestModel.Clip.EmbedTexts(["cat_chelsea"])[0], cat), named.GetProperty("score").GetSingle(), 4);
        JsonElement vectorOnly = await Json(await PostJson("/v1/search", """{"collection":"terms","query":"cat_chelsea","min_score":0.999,"mode":"vector"}"""));
        Assert.True(vectorOnly.GetProperty("no_match").GetBoolean());
        Assert.Equal("vector", vectorOnly.GetProperty("mode").GetString());
        JsonElement textOnly = await Json(await PostJson("/v1/search", """{"collection":"terms","query":"Chelsea","mode":"text"}"""));
        Assert.Equal([catId], textOnly.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()));
        JsonElement hostile = await Json(await PostJson("/v1/search", """{"collection":"terms","query":"NEAR(\"* -x:y' AND (","mode":"text"}"""));
        Assert.True(hostile.GetProperty("no_match").GetBoolean());
        await AssertProblem(await PostJson("/v1/search", """{"collection":"terms","query":"a dog","mode":"fuzzy"}"""), HttpStatusCode.BadRequest, "'mode'");
    }

    [Fact]
    public async Task A_minus_word_leaves_out_uploads_whose_name_holds_it()
    {
        // Two uploads named for beagles, one of them also for the beach; the rule is RankedSearch's (the CLI's --minus).
        using var form = new MultipartFormDataContent();
        foreach ((string photo, string name) in new[] { ("puppies_on_road.jpg", "beagle_beach.jpg"), ("yoga_pose_beach.jpg", "beagle_park.jpg"),
            ("two_beagles.jpg", "two_beagles.jpg"), ("bananas.jpg", "bananas.jpg") })
        {
            form.Add(new ByteArrayContent(TestModel.Photo(photo)), "files", name);
        }

        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync("/v1/collections/minus/items", form)).StatusCode);
        async Task<string[]> Names(string json) =>
            [.. (await Json(await PostJson("/v1/search", json))).GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()!)];

        Assert.Contains("beagle_beach.jpg", await Names("""{"collection":"minus","query":[{"text":"beagle"}],"all":true,"top_k":20}"""));
        string[] minus = await Names("""{"collection":"minus","query":[{"text":"beagle"},{"text":"beach","weight":-1}],"all":true,"top_k":20}""");
        Assert.Equal(["bananas.jpg", "beagle_park.jpg", "two_beagles.jpg"], minus.Order(StringComparer.Ordinal));
        // Vector mode is the vector only: the beach-named upload is still ranked.
        Assert.Contains("beagle_beach.jpg",
            await Names("""{"collection":"minus","query":[{"text":"beagle"},{"text":"beach","weight":-1}],"all":true,"top_k":20,"mode":"vector"}"""));
    }

    private static float Norm(float[] v) => MathF.Sqrt(v.Sum(x => x * x));

    [Fact]
    public async Task Image_urls_to_loopback_and_metadata_addresses_are_refused_without_connecting()
    {
        // A real listener on loopback: if the address check failed, the server would connect to it.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        await AssertProblem(await PostJson("/v1/embeddings", $$"""{"input":[{"image":"http://127.0.0.1:{{port}}/cat.png"}]}"""), HttpStatusCode.BadRequest, "loopback");
        await AssertProblem(await PostJson("/v1/embeddings", """{"input":[{"image":"http://169.254.169.254/latest/meta-data/"}]}"""), HttpStatusCode.BadRequest, "metadata");
        await AssertProblem(await PostJson("/v1/embeddings", $$"""{"input":[{"image":"http://[::1]:{{port}}/x.png"}]}"""), HttpStatusCode.BadRequest, "loopback");
        // A name is resolved by the server and every address checked: localhost resolves to loopback.
        await AssertProblem(await PostJson("/v1/embeddings", $$"""{"input":[{"image":"http://localhost:{{port}}/x.png"}]}"""), HttpStatusCode.BadRequest, "loopback");
        await AssertProblem(await PostJson("/v1/embeddings", """{"input":[{"image":"http://example.com/x.png"}]}"""), HttpStatusCode.BadRequest, "allow-list");
        await AssertProblem(await PostJson("/v1/search", $$"""{"image":"http://127.0.0.1:{{port}}/x.png"}"""), HttpStatusCode.BadRequest, "loopback");
        Assert.False(listener.Pending(), "the server connected to a loopback address");
    }

    [Fact]
    public async Task Concurrent_requests_are_batched_into_few_model_runs()
    {
        await Http.PostAsync("/v1/embeddings", new StringContent("""{"input":"warm up"}""", Encoding.UTF8, "application/json"));
        int before = Server.Embedder.TextRuns.Count;
        string[] texts = Enumerable.Range(0, 32).Select(i => $"text number {i}").ToArray();
        using var start = new SemaphoreSlim(0);
        Task<HttpResponseMessage>[] calls = texts.Select(async t =>
        {
            await start.WaitAsync();
            return await PostJson("/v1/embeddings", JsonSerializer.Serialize(new { input = t }));
        }).ToArray();
        start.Release(texts.Length);
        HttpResponseMessage[] responses = await Task.WhenAll(calls);

        float[][] expected = TestModel.Clip.EmbedTexts(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            JsonElement data = (await Json(responses[i])).GetProperty("data")[0];
            AssertSameVector(expected[i], data.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        }

        int runs = Server.Embedder.TextRuns.Count - before;
        Assert.True(runs <= 8, $"32 concurrent requests took {runs} model runs; batching should merge them");
    }
}

public sealed class ServerConfigurationTests
{
    [Fact]
    public async Task Api_keys_guard_v1_routes_but_not_health()
    {
        await using RunningServer server = await RunningServer.StartAsync(o => o.ApiKeys.Add("s3cret"));
        JsonElement ok = JsonDocument.Parse(await server.Http.GetStringAsync("/health")).RootElement;
        Assert.Equal("ok", ok.GetProperty("status").GetString());

        HttpResponseMessage anonymous = await server.Http.PostAsync("/v1/embeddings", new StringContent("""{"input":"x"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Bearer", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.GetAsync("/v1/collections")).StatusCode);

        var wrong = new EmbeddingClient("m", new ApiKeyCredential("nope"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });
        var error = await Assert.ThrowsAsync<ClientResultException>(() => wrong.GenerateEmbeddingAsync("x"));
        Assert.Equal(401, error.Status);

        var right = new EmbeddingClient("m", new ApiKeyCredential("s3cret"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });
        OpenAIEmbedding embedding = (await right.GenerateEmbeddingAsync("x")).Value;
        Assert.Equal(TestModel.Clip.Dimensions, embedding.ToFloats().Length);
    }

    [Fact]
    public async Task Image_urls_are_refused_when_fetching_is_off()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        HttpResponseMessage response = await server.Http.PostAsync("/v1/embeddings",
            new StringContent("""{"input":[{"image":"https://example.com/cat.png"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("image URLs are disabled", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_batching_requests_go_straight_to_the_model()
    {
        await using RunningServer server = await RunningServer.StartAsync(o => o.MaxBatchSize = 1);
        Task<HttpResponseMessage>[] calls = Enumerable.Range(0, 4).Select(i => server.Http.PostAsync("/v1/embeddings",
            new StringContent($$"""{"input":"t{{i}}"}""", Encoding.UTF8, "application/json"))).ToArray();
        Assert.All(await Task.WhenAll(calls), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(4, server.Embedder.TextRuns.Count);
    }

    [Fact]
    public async Task Cors_is_off_by_default_and_on_for_configured_origins()
    {
        await using RunningServer closed = await RunningServer.StartAsync();
        using var request1 = new HttpRequestMessage(HttpMethod.Get, "/health");
        request1.Headers.Add("Origin", "https://app.example");
        Assert.False((await closed.Http.SendAsync(request1)).Headers.Contains("Access-Control-Allow-Origin"));

        await using RunningServer open = await RunningServer.StartAsync(o => o.CorsOrigins.Add("https://app.example"));
        using var request2 = new HttpRequestMessage(HttpMethod.Get, "/health");
        request2.Headers.Add("Origin", "https://app.example");
        HttpResponseMessage response = await open.Http.SendAsync(request2);
        Assert.Equal("https://app.example", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task The_web_page_is_served_at_the_root()
    {
        string root = Path.Combine(Path.GetTempPath(), "omnivec-web-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "index.html"), "<html>omnivec page</html>");
        try
        {
            await using RunningServer server = await RunningServer.StartAsync(o => o.WebRoot = root);
            Assert.Contains("omnivec page", await server.Http.GetStringAsync("/"), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}

public sealed class AddressPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.5.6.7", "loopback")]
    [InlineData("10.1.2.3", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("169.254.169.254", "metadata")]
    [InlineData("100.64.0.1", "CGNAT")]
    [InlineData("100.100.100.200", "CGNAT")]
    [InlineData("0.0.0.0", "0.0.0.0/8")]
    [InlineData("224.0.0.1", "multicast")]
    [InlineData("255.255.255.255", "broadcast")]
    [InlineData("::1", "loopback")]
    [InlineData("::", "unspecified")]
    [InlineData("fd00:ec2::254", "unique-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("::ffff:169.254.169.254", "metadata")]
    [InlineData("64:ff9b::10.0.0.1", "private")]
    [InlineData("64:ff9b:1::a00:1", "private")]
    [InlineData("::ffff:10.0.0.1", "private")]
    [InlineData("::ffff:192.168.0.1", "private")]
    [InlineData("::ffff:0:127.0.0.1", "loopback")]
    [InlineData("::127.0.0.1", "loopback")]
    [InlineData("2002:7f00:1::1", "loopback")]
    [InlineData("2002:a9fe:a9fe::", "metadata")]
    [InlineData("2002:c0a8:101::1", "private")]
    [InlineData("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback")]
    [InlineData("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private")]
    [InlineData("2001:0:a9fe:a9fe:8000:63bf:a247:27dd", "metadata")]
    public void Internal_addresses_are_blocked(string address, string reason) =>
        Assert.Contains(reason, AddressPolicy.Blocked(IPAddress.Parse(address)) ?? "allowed", StringComparison.OrdinalIgnoreCase);

    [Theory]
    [InlineData("93.184.216.34")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2606:4700::1111")]
    [InlineData("::ffff:93.184.216.34")]
    [InlineData("2002:5db8:d822::1")]
    [InlineData("2001:0:4136:e378:8000:63bf:a247:27dd")]
    public void Public_addresses_are_allowed(string address) => Assert.Null(AddressPolicy.Blocked(IPAddress.Parse(address)));
}
