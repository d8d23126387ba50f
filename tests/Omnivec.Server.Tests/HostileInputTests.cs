using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Omnivec.Server.Tests;

/// <summary>Malformed bodies a hostile client sends: every one is a 4xx problem, never a 500, and the server lives on.</summary>
public sealed class HostileInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private HttpClient Http => fixture.Server.Http;

    private static async Task<string> AssertClientError(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {body[..Math.Min(body.Length, 500)]}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;
    }

    private Task<HttpResponseMessage> PostBytes(string path, byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return Http.PostAsync(path, content);
    }

    public static TheoryData<string, string> BadStrings => new()
    {
        { "/v1/search", """{"text":"\ud800"}""" },
        { "/v1/search", """{"text":"a","collection":"\udfff"}""" },
        { "/v1/search", """{"text":"a","filter":{"path_prefix":"\ud800x"}}""" },
        { "/v1/classify", """{"image":"aGVsbG8=","labels":["\ud800","b"]}""" },
        { "/v1/classify", """{"image":"\ud800","labels":["a","b"]}""" },
        { "/v1/classify", """{"image":"aGVsbG8=","labels":"a,\ud800"}""" },
        { "/v1/embeddings", """{"input":"\ud800"}""" },
        { "/v1/embeddings", """{"input":["ok","\udc00"]}""" },
        { "/v1/embeddings", """{"input":[{"text":"\ud800"}]}""" },
        { "/v1/embeddings", """{"input":"x","encoding_format":"\ud800"}""" },
    };

    [Theory]
    [MemberData(nameof(BadStrings))]
    public async Task Lone_surrogates_in_json_strings_are_400(string path, string json)
    {
        string detail = await AssertClientError(await PostBytes(path, Encoding.ASCII.GetBytes(json), "application/json"));
        Assert.Contains("not valid", detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/health")).StatusCode);
    }

    [Theory]
    [InlineData("/v1/search", "{\"text\":\"a\u00FF\u00FEb\"}")]
    [InlineData("/v1/classify", "{\"image\":\"aGVsbG8=\",\"labels\":[\"\u00C3\",\"b\"]}")]
    [InlineData("/v1/embeddings", "{\"input\":\"\u00ED\u00A0\u0080\"}")]
    public async Task Invalid_utf8_in_json_strings_is_400(string path, string latin1)
    {
        byte[] body = Encoding.Latin1.GetBytes(latin1);
        await AssertClientError(await PostBytes(path, body, "application/json"));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/health")).StatusCode);
    }

    public static TheoryData<string> FormRoutes => new() { "/v1/search", "/v1/classify", "/v1/collections/hostile/items" };

    [Theory]
    [MemberData(nameof(FormRoutes))]
    public async Task Garbage_truncated_and_overlong_boundary_multipart_is_400(string path)
    {
        const string boundary = "XyZ";
        // Truncated: the body stops in the middle of a part.
        byte[] truncated = Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.jpg\"\r\n\r\nabc");
        await AssertClientError(await PostBytes(path, truncated, $"multipart/form-data; boundary={boundary}"));
        // Garbage: no boundary line at all.
        byte[] garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        await AssertClientError(await PostBytes(path, garbage, $"multipart/form-data; boundary={boundary}"));
        // A header section that never ends.
        byte[] endless = Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"x\"\r\n" + new string('a', 20_000));
        await AssertClientError(await PostBytes(path, endless, $"multipart/form-data; boundary={boundary}"));
        // No boundary parameter.
        await AssertClientError(await PostBytes(path, truncated, "multipart/form-data"));
        // A boundary over RFC 2046's 70 characters.
        string longBoundary = new('b', 71);
        byte[] longBody = Encoding.ASCII.GetBytes($"--{longBoundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nx\r\n--{longBoundary}--\r\n");
        await AssertClientError(await PostBytes(path, longBody, $"multipart/form-data; boundary={longBoundary}"));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task A_body_cut_off_by_the_client_does_not_crash_the_server()
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(fixture.Server.BaseAddress.Host, fixture.Server.BaseAddress.Port);
        NetworkStream stream = socket.GetStream();
        byte[] head = Encoding.ASCII.GetBytes(
            $"POST /v1/collections/cut/items HTTP/1.1\r\nHost: {fixture.Server.BaseAddress.Authority}\r\nContent-Type: multipart/form-data; boundary=q\r\nContent-Length: 100000\r\n\r\n--q\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.jpg\"\r\n\r\nabc");
        await stream.WriteAsync(head);
        socket.Client.Shutdown(SocketShutdown.Send);
        socket.Close();
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/health")).StatusCode);
        // The cut-off upload created nothing.
        Assert.False(Directory.Exists(Path.Combine(fixture.Server.Store, "cut")));
    }

    [Fact]
    public async Task Errors_echo_at_most_a_short_piece_of_bad_input()
    {
        string huge = new('t', 2_000_000);
        string detail = await AssertClientError(await Http.PostAsync("/v1/classify",
            new StringContent(JsonSerializer.Serialize(new { image = "aGVsbG8=", labels = new[] { "a", "b" }, templates = huge }), Encoding.UTF8, "application/json")));
        Assert.True(detail.Length < 1000, $"the error is {detail.Length} characters long");
        string dateDetail = await AssertClientError(await Http.PostAsync("/v1/search",
            new StringContent(JsonSerializer.Serialize(new { text = "a", filter = new { from = huge } }), Encoding.UTF8, "application/json")));
        Assert.True(dateDetail.Length < 1000, $"the error is {dateDetail.Length} characters long");
        using var form = new MultipartFormDataContent { { new StringContent(huge), "top_k" }, { new StringContent("a"), "text" } };
        HttpResponseMessage response = await Http.PostAsync("/v1/search", form);
        Assert.True((await response.Content.ReadAsByteArrayAsync()).Length < 4000);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Wrong_method_is_405_with_Allow()
    {
        HttpResponseMessage response = await Http.GetAsync("/v1/search");
        await AssertClientError(response, HttpStatusCode.MethodNotAllowed);
        Assert.Contains("POST", response.Content.Headers.Allow);
        HttpResponseMessage put = await Http.PutAsync("/v1/collections/x/items/1", new StringContent(""));
        await AssertClientError(put, HttpStatusCode.MethodNotAllowed);
        Assert.Contains("DELETE", put.Content.Headers.Allow);
    }

    [Theory]
    [InlineData("CON")]
    [InlineData("nul")]
    [InlineData("com1")]
    [InlineData("LPT9")]
    [InlineData("aux.db")]
    [InlineData("trailing.")]
    public async Task Reserved_collection_names_are_refused(string name)
    {
        using var form = new MultipartFormDataContent { { new ByteArrayContent(TestModel.Photo("bananas.jpg")), "files", "b.jpg" } };
        string detail = await AssertClientError(await Http.PostAsync($"/v1/collections/{name}/items", form));
        Assert.Contains("not a valid collection name", detail, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(fixture.Server.Store, name)));
    }

    [Fact]
    public async Task The_OpenAPI_search_schema_has_ef_and_filter()
    {
        JsonElement doc = JsonDocument.Parse(await Http.GetStringAsync("/openapi/v1.json")).RootElement;
        JsonElement properties = doc.GetProperty("components").GetProperty("schemas").GetProperty("SearchRequest").GetProperty("properties");
        foreach (string name in new[] { "ef", "top_k", "filter", "item_id" })
        {
            Assert.True(properties.TryGetProperty(name, out _), name);
        }
    }
}

/// <summary>The request records are the one definition of each body: the parser names the member that is wrong, and the
/// OpenAPI document lists exactly the records' members.</summary>
public sealed class RequestRecordTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private HttpClient Http => fixture.Server.Http;

    public static TheoryData<string, string, string> WrongMembers => new()
    {
        { "/v1/search", """{"text":"a","filter":{"min_width":"wide"}}""", "'filter.min_width' must be an integer; got a string" },
        { "/v1/search", """{"text":"a","filter":{"min_height":-1}}""", "'filter.min_height' must be between 0" },
        { "/v1/search", """{"text":"a","filter":[1]}""", "'filter' must be an object" },
        { "/v1/search", """{"text":"a","top_k":2.5}""", "'top_k' must be an integer; got a number" },
        { "/v1/search", """{"text":"a","top_k":99999999999}""", "'top_k' must be between" },
        { "/v1/search", """{"text":7}""", "'text' must be a string; got a number" },
        { "/v1/search", """{"item_id":"12"}""", "'item_id' must be an integer; got a string" },
        { "/v1/classify", """{"image":"aGVsbG8=","labels":["a",2]}""", "'labels[1]' must be a string; got a number" },
        { "/v1/classify", """{"image":"aGVsbG8=","labels":{"a":1}}""", "'labels' must be an array of strings; got an object" },
        { "/v1/classify", """{"image":"aGVsbG8="}""", "'labels' is required" },
        { "/v1/embeddings", """{"input":[{"sound":"x"}]}""", "'input[0]' must have exactly one of" },
        { "/v1/embeddings", """{"input":["a",null]}""", "'input[1]' must be a string or an object" },
        { "/v1/embeddings", """{"input":"a","model":["m"]}""", "'model' must be a string; got an array" },
        { "/v1/embeddings", """{"input":"a","dimensions":0}""", "'dimensions' must be between 1" },
    };

    [Theory]
    [MemberData(nameof(WrongMembers))]
    public async Task A_wrong_member_is_a_400_that_names_it(string path, string json, string expected)
    {
        HttpResponseMessage response = await Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {body}");
        Assert.Contains(expected, JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_multipart_filter_is_read_with_the_same_record()
    {
        using var form = new MultipartFormDataContent { { new StringContent("a"), "text" }, { new StringContent("""{"min_size":"big"}"""), "filter" } };
        HttpResponseMessage response = await Http.PostAsync("/v1/search", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'filter.min_size' must be an integer; got a string", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(typeof(EmbeddingsRequest))]
    [InlineData(typeof(SearchRequest))]
    [InlineData(typeof(SearchFilterRequest))]
    [InlineData(typeof(ClassifyRequest))]
    public async Task The_OpenAPI_schema_of_each_request_lists_its_record_members(Type record)
    {
        JsonElement schemas = JsonDocument.Parse(await Http.GetStringAsync("/openapi/v1.json")).RootElement.GetProperty("components").GetProperty("schemas");
        string[] documented = schemas.GetProperty(record.Name).GetProperty("properties").EnumerateObject().Select(p => p.Name).Order().ToArray();
        string[] members = record.GetProperties().Where(p => p.Name != "EqualityContract")
            .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)).Order().ToArray();
        Assert.Equal(members, documented);
    }
}
