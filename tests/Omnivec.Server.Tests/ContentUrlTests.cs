using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Omnivec.Server.Tests;

/// <summary>Behind an API key, players get signed, short-lived content URLs: they need no header, open one file, and expire.</summary>
public sealed class ContentUrlTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public async Task Signed_content_urls_open_their_item_without_a_key_and_nothing_else()
    {
        const string Secret = "shared-between-replicas";
        await using RunningServer server = await RunningServer.StartAsync(o =>
        {
            o.ApiKeys.Add("the-key");
            o.ContentUrlSecret = Secret;
        });
        using var authed = new HttpClient { BaseAddress = server.BaseAddress };
        authed.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "the-key");

        byte[] photo = TestModel.Photo("bananas.jpg");
        byte[] other = TestModel.Photo("hotdog.jpg");
        using var form = new MultipartFormDataContent { { new ByteArrayContent(photo), "files", "bananas.jpg" }, { new ByteArrayContent(other), "files", "hotdog.jpg" } };
        HttpResponseMessage upload = await authed.PostAsync("/v1/collections/keyed/items", form);
        string uploadBody = await upload.Content.ReadAsStringAsync();
        Assert.True(upload.StatusCode == HttpStatusCode.Created, uploadBody);
        JsonElement[] items = [.. JsonDocument.Parse(uploadBody).RootElement.GetProperty("items").EnumerateArray()];
        string uploadedUrl = items[0].GetProperty("content_url").GetString()!;
        Assert.Contains("sig=", uploadedUrl);

        // Search (with the key) hands out a signed URL; a player fetches it with no header, Range included.
        HttpResponseMessage search = await authed.PostAsync("/v1/search", new StringContent(
            JsonSerializer.Serialize(new { collection = "keyed", image = Convert.ToBase64String(photo), top_k = 1 }), System.Text.Encoding.UTF8, "application/json"));
        string searchBody = await search.Content.ReadAsStringAsync();
        Assert.True(search.IsSuccessStatusCode, searchBody);
        JsonElement best = JsonDocument.Parse(searchBody).RootElement.GetProperty("results")[0];
        string url = best.GetProperty("content_url").GetString()!;
        long id = best.GetProperty("id").GetInt64();
        Assert.Matches(@"^/v1/collections/keyed/items/\d+/content\?exp=\d+&sig=[A-Za-z0-9_-]{43}$", url);

        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        Assert.Equal(photo, await anonymous.GetByteArrayAsync(url));
        using (var ranged = new HttpRequestMessage(HttpMethod.Get, url))
        {
            ranged.Headers.Range = new RangeHeaderValue(10, 109);
            HttpResponseMessage part = await anonymous.SendAsync(ranged);
            Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
            Assert.Equal(photo.AsSpan(10, 100).ToArray(), await part.Content.ReadAsByteArrayAsync());
        }

        // Without the signature, with another item's id, on another route or tampered: 401, as any request without a key.
        long otherId = items.Select(i => i.GetProperty("id").GetInt64()).First(i => i != id);
        string query = url[url.IndexOf('?', StringComparison.Ordinal)..];
        foreach (string bad in new[]
        {
            url[..url.IndexOf('?', StringComparison.Ordinal)],
            $"/v1/collections/keyed/items/{otherId}/content{query}",
            $"/v1/collections/keyed/items/{id}/thumbnail{query}",
            $"/v1/collections{query}",
            url[..^2] + (url[^2..] == "AA" ? "BB" : "AA"),
            url.Replace("exp=", "exp=1", StringComparison.Ordinal),
        })
        {
            HttpResponseMessage refused = await anonymous.GetAsync(bad);
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{bad}: {refused.StatusCode}");
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.DeleteAsync($"/v1/collections/keyed/items/{id}{query}")).StatusCode);

        // Signed with the same secret: valid now, refused once expired (with a message that says so).
        var options = new OmnivecServerOptions { ContentUrlSecret = Secret };
        string fresh = new ContentUrls(options, signed: true).For("keyed", id);
        Assert.Equal(photo, await anonymous.GetByteArrayAsync(fresh));
        string expired = new ContentUrls(options, signed: true, new FixedTime(DateTimeOffset.UtcNow.AddHours(-2))).For("keyed", id);
        HttpResponseMessage late = await anonymous.GetAsync(expired);
        Assert.Equal(HttpStatusCode.Unauthorized, late.StatusCode);
        Assert.Contains("expired", await late.Content.ReadAsStringAsync());

        // A server with another secret does not accept them.
        await using RunningServer replica = await RunningServer.StartAsync(o => o.ApiKeys.Add("the-key"));
        using var toReplica = new HttpClient { BaseAddress = replica.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await toReplica.GetAsync(fresh)).StatusCode);
    }

    [Fact]
    public async Task Without_api_keys_content_urls_are_plain()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        using var form = new MultipartFormDataContent { { new ByteArrayContent(TestModel.Photo("bananas.jpg")), "files", "bananas.jpg" } };
        HttpResponseMessage upload = await server.Http.PostAsync("/v1/collections/plain/items", form);
        JsonElement item = JsonDocument.Parse(await upload.Content.ReadAsStringAsync()).RootElement.GetProperty("items")[0];
        Assert.Equal($"/v1/collections/plain/items/{item.GetProperty("id").GetInt64()}/content", item.GetProperty("content_url").GetString());
    }
}
