using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Omnivec.Index.Postgres;
using Omnivec.Index.Postgres.Tests;

namespace Omnivec.Server.Tests;

/// <summary>
/// Liveness and readiness apart: <c>/health</c> answers 200 while the process runs; <c>/health/ready</c> is 200 only while
/// the model is loaded and the store answers. With PostgreSQL (PGlite, the real engine) stopped, readiness is 503 with
/// the reason and every endpoint that needs the store answers 503 with Retry-After and a problem document; started
/// again, both recover without a restart of the server.
/// </summary>
public sealed class ReadinessTests : IDisposable
{
    private readonly string _uploads = Directory.CreateTempSubdirectory("omnivec-srv-ready-").FullName;
    private readonly PgliteServer _postgres = new();

    public void Dispose()
    {
        _postgres.Dispose();
        Directory.Delete(_uploads, recursive: true);
    }

    private static Task<HttpResponseMessage> PostJson(HttpClient http, string path, string json) =>
        http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> Body(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    private static async Task AssertUnavailable(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        JsonElement problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.Contains("not reachable", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(PgliteServer.Password, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_follows_the_database_and_store_outages_are_503_with_retry_after()
    {
        if (_postgres.IsExternal)
        {
            return; // stopping the database is for the PGlite the test started, never a server it was given
        }

        await using RunningServer server = await RunningServer.StartAsync(o =>
        {
            o.StoreRoot = _postgres.Uri;
            o.UploadsRoot = _uploads;
            // Give up fast: the test needs the outage answer, not the patience of the production defaults.
            o.Postgres = new PostgresStoreOptions { MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(20), MaxRetryDelay = TimeSpan.FromMilliseconds(50) };
        });
        HttpClient http = server.Http;

        // The shared PGlite may still be busy with the previous test's connections: the server must become ready, polled
        // the same way as after the restart below.
        HttpResponseMessage ready = await WaitUntilReadyAsync(http);
        JsonElement readyBody = await Body(ready);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", readyBody.GetProperty("status").GetString());
        Assert.Equal("ok", readyBody.GetProperty("model").GetProperty("status").GetString());
        Assert.Equal("ok", readyBody.GetProperty("store").GetProperty("status").GetString());

        using (var form = new MultipartFormDataContent())
        {
            var part = new ByteArrayContent(TestModel.Photo("cat_chelsea.png"));
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", "cat_chelsea.png");
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/v1/collections/photos/items", form)).StatusCode);
        }

        _postgres.Stop();

        HttpResponseMessage notReady = await http.GetAsync("/health/ready");
        string notReadyText = await notReady.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.NotNull(notReady.Headers.RetryAfter);
        JsonElement reason = JsonDocument.Parse(notReadyText).RootElement;
        Assert.Equal("not_ready", reason.GetProperty("status").GetString());
        Assert.Contains("PostgreSQL", reason.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("unavailable", reason.GetProperty("store").GetProperty("status").GetString());
        Assert.Equal("ok", reason.GetProperty("model").GetProperty("status").GetString());
        Assert.DoesNotContain(PgliteServer.Password, notReadyText, StringComparison.Ordinal);

        // Liveness: still alive, the collection count unknown.
        HttpResponseMessage live = await http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(JsonValueKind.Null, (await Body(live)).GetProperty("collections").ValueKind);

        // Endpoints that need the store: 503 with Retry-After, not 502 or 500.
        await AssertUnavailable(await PostJson(http, "/v1/search", """{"collection":"photos","text":"a cat"}"""));
        await AssertUnavailable(await http.GetAsync("/v1/collections"));
        // The model alone still works.
        Assert.Equal(HttpStatusCode.OK, (await PostJson(http, "/v1/embeddings", """{"input":"a cat"}""")).StatusCode);

        _postgres.Start();

        // Back without restarting the server (the first probe may still meet a connection the restart cut).
        HttpResponseMessage again = await WaitUntilReadyAsync(http);

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        HttpResponseMessage search = await PostJson(http, "/v1/search", """{"collection":"photos","text":"a cat","top_k":1}""");
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        Assert.Equal("cat_chelsea.png", (await Body(search)).GetProperty("results")[0].GetProperty("name").GetString());
    }

    /// <summary>/health/ready polled every 250 ms, at most 21 times: the last answer.</summary>
    private static async Task<HttpResponseMessage> WaitUntilReadyAsync(HttpClient http)
    {
        HttpResponseMessage answer = await http.GetAsync("/health/ready");
        for (int attempt = 0; attempt < 20 && answer.StatusCode != HttpStatusCode.OK; attempt++)
        {
            await Task.Delay(250);
            answer = await http.GetAsync("/health/ready");
        }

        return answer;
    }

    [Fact]
    public async Task A_folder_store_is_ready_and_liveness_counts_its_collections()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        HttpResponseMessage ready = await server.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        JsonElement body = await Body(ready);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("reason").ValueKind);
        Assert.Equal("ok", body.GetProperty("server").GetProperty("status").GetString());
        Assert.Equal(0, (await Body(await server.Http.GetAsync("/health"))).GetProperty("collections").GetInt32());
    }
}
