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
