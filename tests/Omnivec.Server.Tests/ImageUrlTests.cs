using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Omnivec.Server.Tests;

/// <summary>
/// Fetching image URLs end to end against a loopback "image host". The fetcher's address check is relaxed for exactly
/// 127.0.0.1 (standing in for a public address); every other address keeps the real policy, so redirects to 127.0.0.2
/// prove that each hop is checked again.
/// </summary>
public sealed class ImageUrlTests : IAsyncLifetime
{
    private WebApplication _host = null!;
    private Uri _hostAddress = null!;
    private int _bigFetches;

    public async Task InitializeAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _host = builder.Build();
        byte[] cat = TestModel.Photo("cat_chelsea.png");
        _host.MapGet("/cat.png", () => Results.File(cat, "image/png"));
        _host.MapGet("/hop", () => Results.Redirect("/cat.png"));
        _host.MapGet("/to-other-loopback", (HttpContext c) => Results.Redirect($"http://127.0.0.2:{c.Connection.LocalPort}/cat.png"));
        _host.MapGet("/to-metadata", () => Results.Redirect("http://169.254.169.254/latest/meta-data/"));
        _host.MapGet("/loop", () => Results.Redirect("/loop"));
        _host.MapGet("/missing", () => Results.NotFound());
        byte[] big = new byte[3 << 20]; // a valid PNG header (the cat), padded to 3 MB
        cat.CopyTo(big, 0);
        _host.MapGet("/big", () =>
        {
            Interlocked.Increment(ref _bigFetches);
            return Results.File(big, "image/png");
        });
        await _host.StartAsync();
        _hostAddress = new Uri(_host.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        await _host.DisposeAsync();
    }

    private static async Task<RunningServer> StartServerAsync(long maxBytes = 16 << 20, long maxRequestBytes = 32 << 20)
    {
        RunningServer server = await RunningServer.StartAsync(o =>
        {
            o.MaxRequestBytes = maxRequestBytes;
            o.AllowImageUrls = true;
            o.ImageUrlAllowList.Add("127.0.0.1");
            o.ImageUrlAllowList.Add("127.0.0.2");
            o.ImageUrlAllowList.Add("169.254.169.254");
            o.MaxImageUrlBytes = maxBytes;
        });
        server.Fetcher.AddressCheck = a => a.Equals(IPAddress.Loopback) ? null : AddressPolicy.Blocked(a);
        return server;
    }

    private static Task<HttpResponseMessage> Embed(RunningServer server, string url) => server.Http.PostAsync("/v1/embeddings",
        new StringContent(JsonSerializer.Serialize(new { input = new[] { new { image = url } } }), Encoding.UTF8, "application/json"));

    private static async Task<string> Detail(HttpResponseMessage response, HttpStatusCode expected)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;
    }

    [Fact]
    public async Task An_allowed_url_is_fetched_and_embedded_like_the_bytes_themselves_even_through_a_redirect()
    {
        await using RunningServer server = await StartServerAsync();
        float[] expected = TestModel.Clip.EmbedImages([TestModel.Photo("cat_chelsea.png")])[0].Embedding!.Vector.ToArray();
        foreach (string path in new[] { "/cat.png", "/hop" })
        {
            HttpResponseMessage response = await Embed(server, new Uri(_hostAddress, path).ToString());
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            float[] actual = JsonDocument.Parse(body).RootElement.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.True(VectorMath.Cosine(expected, actual) > 0.99999f);
        }
    }

    [Fact]
    public async Task Every_redirect_hop_is_checked_again()
    {
        await using RunningServer server = await StartServerAsync();
        Assert.Contains("loopback", await Detail(await Embed(server, new Uri(_hostAddress, "/to-other-loopback").ToString()), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("metadata", await Detail(await Embed(server, new Uri(_hostAddress, "/to-metadata").ToString()), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("more than 3 redirects", await Detail(await Embed(server, new Uri(_hostAddress, "/loop").ToString()), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("HTTP 404", await Detail(await Embed(server, new Uri(_hostAddress, "/missing").ToString()), HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Downloads_over_the_size_cap_are_refused()
    {
        await using RunningServer server = await StartServerAsync(maxBytes: 10_000);
        Assert.Contains("10,000 bytes", await Detail(await Embed(server, new Uri(_hostAddress, "/cat.png").ToString()), HttpStatusCode.RequestEntityTooLarge), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_of_many_urls_holds_no_more_than_the_request_limit()
    {
        // 8 URLs of 3 MB each, each under the 4 MB per-image cap, but 24 MB in all against an 8 MB request limit:
        // the server stops after the third download instead of holding all of them.
        await using RunningServer server = await StartServerAsync(maxBytes: 4 << 20, maxRequestBytes: 8 << 20);
        string url = new Uri(_hostAddress, "/big").ToString();
        HttpResponseMessage response = await server.Http.PostAsync("/v1/embeddings",
            new StringContent(JsonSerializer.Serialize(new { input = Enumerable.Repeat(new { image = url }, 8).ToArray() }), Encoding.UTF8, "application/json"));
        Assert.Contains("MaxRequestBytes", await Detail(response, HttpStatusCode.RequestEntityTooLarge), StringComparison.Ordinal);
        Assert.True(_bigFetches <= 3, $"{_bigFetches} downloads for one request");
    }
}
