using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace Omnivec.Server.Tests;

/// <summary>
/// <c>/metrics</c> (Prometheus' text format, opt-in): after an upload, an embedding and a search it carries the figures
/// of each: model runs and their batch sizes, decode time, search latency, the collection's size, the batcher, HTTP.
/// </summary>
public sealed class TelemetryTests
{
    private static Task<HttpResponseMessage> PostJson(HttpClient http, string path, string json) =>
        http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>The value of each sample of <paramref name="name"/> whose labels include every one of <paramref name="labels"/>.</summary>
    private static double[] Samples(string exposition, string name, params string[] labels)
    {
        var values = new List<double>();
        foreach (string line in exposition.Split('\n'))
        {
            Match m = Regex.Match(line, @"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)");
            if (m.Success && m.Groups[1].Value == name && labels.All(l => m.Groups[3].Value.Contains(l, StringComparison.Ordinal)))
            {
                values.Add(double.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture));
            }
        }

        return values.ToArray();
    }

    [Fact]
    public async Task Metrics_carry_model_runs_decoding_search_latency_index_size_and_batching()
    {
        await using RunningServer server = await RunningServer.StartAsync(o => o.MetricsEndpoint = true);
        HttpClient http = server.Http;
        string collection = "metrics-" + Guid.NewGuid().ToString("N")[..8];

        using var form = new MultipartFormDataContent();
        foreach (string photo in new[] { "cat_chelsea.png", "bananas.jpg", "hotdog.jpg" })
        {
            var part = new ByteArrayContent(TestModel.Photo(photo));
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", photo);
        }

        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync($"/v1/collections/{collection}/items", form)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostJson(http, "/v1/embeddings", """{"input":["a dog","a cat"]}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostJson(http, "/v1/search", $$"""{"collection":"{{collection}}","text":"a cat","top_k":2}""")).StatusCode);

        HttpResponseMessage scrape = await http.GetAsync("/metrics");
        string text = await scrape.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.StartsWith("text/plain", scrape.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);

        // The collection's size, by its name.
        Assert.Equal([3.0], Samples(text, "omnivec_index_items", $"omnivec_collection=\"{collection}\"", "omnivec_store=\"embedded\""));
        // Search latency: counted, and the time is a positive number of seconds.
        Assert.True(Samples(text, "omnivec_search_duration_seconds_count", "omnivec_store=\"embedded\"").Sum() >= 1, text);
        Assert.True(Samples(text, "omnivec_search_duration_seconds_sum", "omnivec_store=\"embedded\"").Sum() > 0);
        // Model runs of both towers, their time and batch sizes.
        Assert.True(Samples(text, "omnivec_model_run_duration_seconds_count", "omnivec_tower=\"text\"").Sum() >= 2);
        Assert.True(Samples(text, "omnivec_model_run_duration_seconds_count", "omnivec_tower=\"vision\"").Sum() >= 1);
        Assert.True(Samples(text, "omnivec_model_run_duration_seconds_sum", "omnivec_tower=\"vision\"").Sum() > 0);
        Assert.True(Samples(text, "omnivec_model_batch_size_sum", "omnivec_tower=\"text\"").Sum() >= 3); // "a dog", "a cat" and the query
        Assert.True(Samples(text, "omnivec_embedding_inputs_total", "omnivec_modality=\"image\"").Sum() >= 3);
        // Decode time of the uploaded images, by format.
        Assert.True(Samples(text, "omnivec_image_decode_duration_seconds_count", "omnivec_image_format=\"Jpeg\"").Sum() >= 2);
        Assert.True(Samples(text, "omnivec_image_decode_duration_seconds_count", "omnivec_image_format=\"Png\"").Sum() >= 1);
        // The dynamic batcher: merged batch sizes, and its queue (empty now that every request is answered).
        Assert.True(Samples(text, "omnivec_batcher_batch_size_sum", "omnivec_modality=\"text\"").Sum() >= 3);
        Assert.Equal(0, Samples(text, "omnivec_batcher_queue_depth", "omnivec_modality=\"text\"").Sum());
        // ASP.NET Core's own request metrics come along.
        Assert.True(Samples(text, "http_server_request_duration_seconds_count", "http_route=\"/v1/search\"").Sum() >= 1, text);
    }

    [Fact]
    public async Task Metrics_are_off_by_default_and_need_the_api_key_when_keys_are_set()
    {
        await using (RunningServer plain = await RunningServer.StartAsync())
        {
            Assert.Equal(HttpStatusCode.NotFound, (await plain.Http.GetAsync("/metrics")).StatusCode);
        }

        await using RunningServer keyed = await RunningServer.StartAsync(o =>
        {
            o.MetricsEndpoint = true;
            o.ApiKeys.Add("scrape-key");
        });
        Assert.Equal(HttpStatusCode.Unauthorized, (await keyed.Http.GetAsync("/metrics")).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "scrape-key");
        HttpResponseMessage scrape = await keyed.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Contains("# TYPE", await scrape.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Liveness stays open to probes without a key.
        Assert.Equal(HttpStatusCode.OK, (await keyed.Http.GetAsync("/health")).StatusCode);
    }
}
