using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Omnivec.Onnx;
using Omnivec.Tests;
using OpenAI;
using OpenAI.Embeddings;

namespace Omnivec.Server.Tests;

/// <summary>A server running the tiny CLAP pack (random weights, the real packs' shapes), with an empty store.</summary>
public sealed class ClapServerFixture : IAsyncLifetime
{
    public static readonly string Clips = Path.Combine(TestPaths.Fixtures, "reference", "clap");

    private readonly Lazy<ClapEmbeddingGenerator> _clap = new(() => ClapEmbeddingGenerator.Load(Path.Combine(TestPaths.Fixtures, "models", "tiny-clap-hf")));

    public ClapEmbeddingGenerator Clap => _clap.Value;

    internal RunningServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RunningServer.StartAsync(o => o.ExposeFilePaths = true, Clap);

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        if (_clap.IsValueCreated)
        {
            _clap.Value.Dispose();
        }
    }

    public static byte[] Clip(string name) => File.ReadAllBytes(Path.Combine(Clips, name));
}

public sealed class AudioApiTests(ClapServerFixture fixture) : IClassFixture<ClapServerFixture>
{
    private HttpClient Http => fixture.Server.Http;

    private static void AssertSameVector(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(VectorMath.Cosine(expected, actual) > 0.99999f, $"cosine {VectorMath.Cosine(expected, actual)}");
    }

    private static float[] Floats(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(e.GetString()!)).ToArray()
        : [.. e.EnumerateArray().Select(v => v.GetSingle())];

    private async Task<JsonElement> PostOk(string path, object body)
    {
        HttpResponseMessage response = await Http.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<string> PostProblem(string path, object body, HttpStatusCode status)
    {
        HttpResponseMessage response = await Http.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString()!;
    }

    [Theory]
    [InlineData("float")]
    [InlineData("base64")]
    public async Task Audio_input_gives_one_embedding_per_window_with_offsets_equal_to_the_library(string format)
    {
        byte[] wav = ClapServerFixture.Clip("mix-13.5s.wav");
        string path = Path.Combine(ClapServerFixture.Clips, "mix-13.5s.wav");
        var expected = new List<AudioSegmentEmbedding>();
        await foreach (AudioSegmentEmbedding w in fixture.Clap.EmbedAudioFileAsync(path))
        {
            expected.Add(w);
        }

        JsonElement response = await PostOk("/v1/embeddings", new
        {
            input = new object[] { new { text = "a dog barking" }, new { audio = Convert.ToBase64String(wav) }, new { audio = "data:audio/wav;base64," + Convert.ToBase64String(ClapServerFixture.Clip("tone-2.3s.wav")) } },
            encoding_format = format,
        });
        JsonElement[] data = [.. response.GetProperty("data").EnumerateArray()];
        Assert.Equal(3, data.Length);
        Assert.Equal([0, 1, 2], data.Select(d => d.GetProperty("index").GetInt32()));

        // Text: as the library embeds it; no modality or segments, so plain OpenAI readers see what they expect.
        AssertSameVector(fixture.Clap.EmbedTexts(["a dog barking"])[0], Floats(data[0].GetProperty("embedding")));
        Assert.False(data[0].TryGetProperty("segments", out _));

        // The 13.5 s recording: windows 0-10 and 3.5-13.5, each equal to the library's, and the whole as their normalised mean.
        Assert.Equal("audio", data[1].GetProperty("modality").GetString());
        JsonElement[] windows = [.. data[1].GetProperty("segments").EnumerateArray()];
        Assert.Equal(expected.Count, windows.Length);
        Assert.Equal(2, windows.Length);
        for (int i = 0; i < windows.Length; i++)
        {
            Assert.Equal(expected[i].StartSec, windows[i].GetProperty("start_offset_sec").GetDouble(), 3);
            Assert.Equal(expected[i].EndSec, windows[i].GetProperty("end_offset_sec").GetDouble(), 3);
            AssertSameVector(expected[i].Embedding.Vector.Span, Floats(windows[i].GetProperty("embedding")));
        }

        Assert.Equal([0.0, 3.5], windows.Select(w => w.GetProperty("start_offset_sec").GetDouble()));
        Assert.Equal([10.0, 13.5], windows.Select(w => w.GetProperty("end_offset_sec").GetDouble()));
        AssertSameVector((await fixture.Clap.EmbedAudioFileAsOneAsync(path)).Vector.Span, Floats(data[1].GetProperty("embedding")));

        // A short clip from a data: URL is one window of its own length.
        JsonElement tone = Assert.Single(data[2].GetProperty("segments").EnumerateArray());
        Assert.Equal(0, tone.GetProperty("start_offset_sec").GetDouble());
        Assert.Equal(2.3, tone.GetProperty("end_offset_sec").GetDouble(), 2);
    }

    [Fact]
    public async Task OpenAI_client_text_embeddings_from_a_clap_server_equal_the_library()
    {
        var client = new EmbeddingClient("whatever-model", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.BaseAddress, "/v1") });
        string[] texts = ["a dog barking", "rain on a window"];
        OpenAIEmbeddingCollection result = (await client.GenerateEmbeddingsAsync(texts)).Value;
        float[][] expected = fixture.Clap.EmbedTexts(texts);
        Assert.Equal(2, result.Count);
        for (int i = 0; i < texts.Length; i++)
        {
            AssertSameVector(expected[i], result[i].ToFloats().Span);
        }
    }

    [Fact]
    public async Task Bad_audio_inputs_are_clear_400s()
    {
        string notAudio = await PostProblem("/v1/embeddings", new { input = new[] { new { audio = Convert.ToBase64String(Encoding.UTF8.GetBytes("just some text, not a recording")) } } }, HttpStatusCode.BadRequest);
        Assert.Contains("input[0]", notAudio);
        Assert.Contains("not audio", notAudio);
        Assert.DoesNotContain(Path.GetTempPath(), notAudio);

        string url = await PostProblem("/v1/embeddings", new { input = new[] { new { audio = "https://example.com/a.wav" } } }, HttpStatusCode.BadRequest);
        Assert.Contains("not supported", url);

        string twoKinds = await PostProblem("/v1/embeddings", new { input = new[] { new { audio = "AAAA", text = "a dog" } } }, HttpStatusCode.BadRequest);
        Assert.Contains("exactly one of", twoKinds);

        // A model without an image tower says so for images.
        string image = await PostProblem("/v1/embeddings", new { input = new[] { new { image = Convert.ToBase64String(TestModel.Photo("bananas.jpg")) } } }, HttpStatusCode.BadRequest);
        Assert.Contains("audio only", image);
    }

    [Fact]
    public async Task An_image_model_refuses_audio_with_a_clear_400()
    {
        await using RunningServer clip = await RunningServer.StartAsync();
        HttpResponseMessage response = await clip.Http.PostAsync("/v1/embeddings", new StringContent(
            JsonSerializer.Serialize(new { input = new[] { new { audio = Convert.ToBase64String(ClapServerFixture.Clip("tone-2.3s.wav")) } } }), Encoding.UTF8, "application/json"));
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("does not embed audio", body);

        HttpResponseMessage search = await clip.Http.PostAsync("/v1/search", new StringContent(
            JsonSerializer.Serialize(new { audio = Convert.ToBase64String(ClapServerFixture.Clip("tone-2.3s.wav")) }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, search.StatusCode);
        Assert.Contains("does not embed audio", await search.Content.ReadAsStringAsync());

        // The same as a term of a query list.
        HttpResponseMessage term = await clip.Http.PostAsync("/v1/search", new StringContent(
            JsonSerializer.Serialize(new { query = new object[] { new { text = "a beach" }, new { audio = Convert.ToBase64String(ClapServerFixture.Clip("tone-2.3s.wav")) } } }),
            Encoding.UTF8, "application/json"));
        string termBody = await term.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, term.StatusCode);
        Assert.Contains("query[1].audio", termBody);
        Assert.Contains("does not embed audio", termBody);
    }

    [Fact]
    public async Task Audio_terms_in_a_query_list_search_like_the_audio_form_and_mix_with_words()
    {
        string collection = "sound-terms-" + Guid.NewGuid().ToString("N")[..8];
        using var form = new MultipartFormDataContent();
        foreach (string name in new[] { "mix-13.5s.wav", "chirp-6.7s.wav", "noise-4.1s.wav" })
        {
            form.Add(new ByteArrayContent(ClapServerFixture.Clip(name)), "files", name);
        }

        HttpResponseMessage upload = await Http.PostAsync($"/v1/collections/{collection}/items", form);
        Assert.True(upload.StatusCode == HttpStatusCode.Created, await upload.Content.ReadAsStringAsync());

        byte[] clip = TestAudio.CutWav(ClapServerFixture.Clip("mix-13.5s.wav"), startSample: 168_000, samples: 480_000);
        string base64 = Convert.ToBase64String(clip);
        JsonElement single = await PostOk("/v1/search", new { collection, audio = base64, top_k = 4 });

        // One audio term (here as a data: URL) ranks exactly as the single 'audio' form.
        JsonElement listed = await PostOk("/v1/search", new { collection, query = new object[] { new { audio = "data:audio/wav;base64," + base64, weight = 1 } }, all = true, top_k = 4 });
        Assert.Equal(Ids(single), Ids(listed));
        Assert.Equal(single.GetProperty("results")[0].GetProperty("score").GetDouble(), listed.GetProperty("results")[0].GetProperty("score").GetDouble(), 5);
        Assert.Equal(3.5, listed.GetProperty("results")[0].GetProperty("start_offset_sec").GetDouble());

        // "Less like this recording": the window it was cut from comes last.
        JsonElement negative = await PostOk("/v1/search", new { collection, query = new object[] { new { audio = base64, weight = -1 } }, all = true, top_k = 4 });
        Assert.Equal(Ids(single).Reverse(), Ids(negative));

        // Mixed with words: the scores are those of normalise(normalise(audio) + 0.5 · normalise(text)) against each window.
        JsonElement mixed = await PostOk("/v1/search", new { collection, query = new object[] { new { audio = base64 }, new { text = "a dog barking", weight = 0.5 } }, all = true, top_k = 4 });
        string clipPath = WriteTemp(clip);
        float[] audio;
        try
        {
            audio = (await fixture.Clap.EmbedAudioFileAsOneAsync(clipPath)).Vector.ToArray();
        }
        finally
        {
            File.Delete(clipPath);
        }

        float[] words = fixture.Clap.EmbedTexts(["a dog barking"])[0];
        float[] expected = new float[audio.Length];
        float audioNorm = MathF.Sqrt(audio.Sum(x => x * x)), wordsNorm = MathF.Sqrt(words.Sum(x => x * x));
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = audio[i] / audioNorm + 0.5f * words[i] / wordsNorm;
        }

        var windows = new Dictionary<(string, double), float[]>();
        foreach (string name in new[] { "mix-13.5s.wav", "chirp-6.7s.wav", "noise-4.1s.wav" })
        {
            await foreach (AudioSegmentEmbedding w in fixture.Clap.EmbedAudioFileAsync(Path.Combine(ClapServerFixture.Clips, name)))
            {
                windows[(name, w.StartSec)] = w.Embedding.Vector.ToArray();
            }
        }

        foreach (JsonElement hit in mixed.GetProperty("results").EnumerateArray())
        {
            float[] item = windows[(hit.GetProperty("name").GetString()!, hit.TryGetProperty("start_offset_sec", out JsonElement start) ? start.GetDouble() : 0)];
            Assert.Equal(VectorMath.Cosine(expected, item), hit.GetProperty("score").GetSingle(), 4);
        }

        Assert.Equal(4, mixed.GetProperty("results").GetArrayLength());

        // A term that is not a recording is a clear 400 naming the term.
        HttpResponseMessage bad = await Http.PostAsync("/v1/search", new StringContent(
            JsonSerializer.Serialize(new { collection, query = new object[] { new { text = "a dog" }, new { audio = "not base64 at all!" } } }), Encoding.UTF8, "application/json"));
        string badBody = await bad.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("query[1].audio", badBody);

        static long[] Ids(JsonElement response) => [.. response.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetInt64())];
    }

    private static string WriteTemp(byte[] wav)
    {
        string path = Path.Combine(Path.GetTempPath(), "omnivec-term-" + Guid.NewGuid().ToString("N")[..8] + ".wav");
        File.WriteAllBytes(path, wav);
        return path;
    }

    [Fact]
    public async Task Recordings_uploaded_into_a_clap_collection_are_found_by_a_clip_at_the_right_offset_and_play_with_range()
    {
        string collection = "sounds-" + Guid.NewGuid().ToString("N")[..8];
        using var form = new MultipartFormDataContent();
        foreach (string name in new[] { "mix-13.5s.wav", "chirp-6.7s.wav", "noise-4.1s.wav" })
        {
            form.Add(new ByteArrayContent(ClapServerFixture.Clip(name)), "files", name);
        }

        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes("a text file named like an mp3")), "files", "notes.mp3");
        form.Add(new ByteArrayContent(TestModel.Photo("bananas.jpg")), "files", "bananas.jpg");
        HttpResponseMessage upload = await Http.PostAsync($"/v1/collections/{collection}/items", form);
        string uploadBody = await upload.Content.ReadAsStringAsync();
        Assert.True(upload.StatusCode == HttpStatusCode.Created, uploadBody);
        JsonElement uploaded = JsonDocument.Parse(uploadBody).RootElement;
        JsonElement[] items = [.. uploaded.GetProperty("items").EnumerateArray()];
        Assert.Equal(4, items.Length); // 2 windows + 1 + 1
        Assert.Equal(["0-10", "3.5-13.5"], items.Where(i => i.GetProperty("name").GetString() == "mix-13.5s.wav")
            .Select(i => $"{i.GetProperty("start_offset_sec").GetDouble()}-{i.GetProperty("end_offset_sec").GetDouble()}"));
        string[] errors = [.. uploaded.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("name").GetString()!)];
        Assert.Equal(["notes.mp3", "bananas.jpg"], errors);

        // The second window of the recording, cut out exactly, finds that window first, with its offsets.
        byte[] query = TestAudio.CutWav(ClapServerFixture.Clip("mix-13.5s.wav"), startSample: 168_000, samples: 480_000);
        JsonElement response = await PostOk("/v1/search", new { collection, audio = Convert.ToBase64String(query), top_k = 3 });
        JsonElement best = response.GetProperty("results")[0];
        Assert.Equal("mix-13.5s.wav", best.GetProperty("name").GetString());
        Assert.Equal(3.5, best.GetProperty("start_offset_sec").GetDouble());
        Assert.Equal(13.5, best.GetProperty("end_offset_sec").GetDouble());
        Assert.True(best.GetProperty("score").GetDouble() > 0.9999);
        Assert.Equal("audio/wav", best.GetProperty("media_type").GetString());

        // The same query as a multipart file.
        using var searchForm = new MultipartFormDataContent { { new StringContent(collection), "collection" }, { new ByteArrayContent(query), "audio", "query.wav" } };
        HttpResponseMessage multipart = await Http.PostAsync("/v1/search", searchForm);
        string multipartBody = await multipart.Content.ReadAsStringAsync();
        Assert.True(multipart.IsSuccessStatusCode, multipartBody);
        Assert.Equal(best.GetProperty("id").GetInt64(), JsonDocument.Parse(multipartBody).RootElement.GetProperty("results")[0].GetProperty("id").GetInt64());

        // Words search the collection too.
        JsonElement words = await PostOk("/v1/search", new { collection, text = "a dog barking", top_k = 10 });
        Assert.Equal(4, words.GetProperty("results").GetArrayLength());

        // The content URL serves the uploaded recording, with Range, as audio/wav.
        string url = best.GetProperty("content_url").GetString()!;
        byte[] original = ClapServerFixture.Clip("mix-13.5s.wav");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(1000, 1999);
        HttpResponseMessage part = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal("audio/wav", part.Content.Headers.ContentType?.MediaType);
        Assert.Equal(original.AsSpan(1000, 1000).ToArray(), await part.Content.ReadAsByteArrayAsync());

        // Deleting one window removes the whole recording.
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"/v1/collections/{collection}/items/{best.GetProperty("id").GetInt64()}")).StatusCode);
        JsonElement after = await PostOk("/v1/search", new { collection, text = "a dog barking", top_k = 10 });
        Assert.Equal(2, after.GetProperty("results").GetArrayLength());
    }
}
