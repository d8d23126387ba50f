using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Omnivec.Onnx;
using Omnivec.Tests;

namespace Omnivec.Server.Tests;

/// <summary>
/// <c>language</c> on /v1/embeddings, /v1/search and /v1/classify with an NLLB-CLIP pack: the texts are read in that language (equal
/// to the PyTorch reference of the same text with that FLORES-200 code), the pack's default otherwise, and an unknown
/// language is a 400 before any work.
/// </summary>
public sealed class LanguageApiTests : IAsyncLifetime
{
    private static readonly Lazy<ClipEmbeddingGenerator> s_nllb = new(() =>
        ClipEmbeddingGenerator.Load(Path.Combine(TestPaths.Fixtures, "models", "tiny-nllb-clip-immich")));

    private RunningServer Server { get; set; } = null!;

    private HttpClient Http => Server.Http;

    public async Task InitializeAsync() => Server = await RunningServer.StartAsync(null, s_nllb.Value);

    public async Task DisposeAsync() => await Server.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, object body)
    {
        HttpResponseMessage response = await Http.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static float[] Vector(JsonElement response) =>
        response.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();

    [Fact]
    public async Task Embeddings_read_the_texts_in_the_language_asked_for()
    {
        (HttpStatusCode status, JsonElement german) = await PostAsync("/v1/embeddings", new { input = "ein Hund am Strand", language = "de" });
        Assert.True(status == HttpStatusCode.OK, german.ToString());
        Assert.True(VectorMath.Cosine(Vector(german), NllbReference.Text("deu_Latnein Hund am Strand")) >= 0.99999f);

        (status, JsonElement plain) = await PostAsync("/v1/embeddings", new { input = "ein Hund am Strand" });
        Assert.True(status == HttpStatusCode.OK, plain.ToString());
        Assert.True(VectorMath.Cosine(Vector(plain), NllbReference.Text("ein Hund am Strand")) >= 0.99999f);
        Assert.True(VectorMath.Cosine(Vector(plain), Vector(german)) < 0.99f);

        (status, JsonElement problem) = await PostAsync("/v1/embeddings", new { input = "ein Hund am Strand", language = "klingon" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("'language'", problem.GetProperty("detail").GetString());
        Assert.Contains("klingon", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Search_reads_the_text_terms_in_the_language_asked_for()
    {
        const string name = "nllb";
        using var form = new MultipartFormDataContent();
        foreach (string file in new[] { "two_beagles.jpg", "bananas.jpg", "tomatoes.jpg" })
        {
            var part = new ByteArrayContent(TestModel.Photo(file));
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", file);
        }

        HttpResponseMessage upload = await Http.PostAsync($"/v1/collections/{name}/items", form);
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);

        float[] german = await EmbedAsync("ein Hund am Strand", "deu_Latn");
        foreach (object body in new object[]
        {
            new { collection = name, text = "ein Hund am Strand", language = "de" },
            new { collection = name, query = new[] { new { text = "ein Hund am Strand" } }, language = "deu_Latn", all = true },
        })
        {
            (HttpStatusCode status, JsonElement found) = await PostAsync("/v1/search", body);
            Assert.True(status == HttpStatusCode.OK, found.ToString());
            JsonElement[] results = [.. found.GetProperty("results").EnumerateArray()];
            Assert.Equal(3, results.Length);
            foreach (JsonElement hit in results)
            {
                float[] image = await EmbedImageAsync(hit.GetProperty("name").GetString()!);
                Assert.Equal(VectorMath.Cosine(german, image), hit.GetProperty("score").GetSingle(), 4);
            }
        }

        // An unknown language fails first: even for a collection that does not exist.
        (HttpStatusCode bad, JsonElement problem) = await PostAsync("/v1/search", new { collection = "missing", text = "ein Hund", language = "xx" });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("Language 'xx'", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Classify_reads_the_labels_in_the_language_asked_for()
    {
        string[] labels = ["Hund", "Banane", "Tomate", "Katze"];
        float[] beagles = NllbReference.Image("two_beagles.jpg");
        string image = Convert.ToBase64String(TestModel.Photo("two_beagles.jpg"));

        // Each label's similarity is the cosine of the PyTorch embeddings of the photo and of its prompt in that language.
        void AssertLabelsMatch(JsonElement found, string language)
        {
            JsonElement[] scored = [.. found.GetProperty("labels").EnumerateArray()];
            Assert.Equal(labels.Order(), scored.Select(l => l.GetProperty("label").GetString()!).Order());
            foreach (JsonElement label in scored)
            {
                float expected = VectorMath.Cosine(beagles, NllbReference.Text(language, $"a photo of a {label.GetProperty("label").GetString()}."));
                Assert.True(Math.Abs(expected - label.GetProperty("similarity").GetSingle()) < 2e-3,
                    $"{label}: PyTorch reference {expected} ({language})");
            }
        }

        (HttpStatusCode status, JsonElement german) = await PostAsync("/v1/classify", new { image, labels, templates = "simple", language = "de" });
        Assert.True(status == HttpStatusCode.OK, german.ToString());
        AssertLabelsMatch(german, "deu_Latn");

        // The form takes it too; without one, the pack's own language (eng_Latn) reads the prompts.
        using (var form = new MultipartFormDataContent())
        {
            form.Add(new ByteArrayContent(TestModel.Photo("two_beagles.jpg")), "image", "two_beagles.jpg");
            form.Add(new StringContent(string.Join(",", labels)), "labels");
            form.Add(new StringContent("simple"), "templates");
            form.Add(new StringContent("deu_Latn"), "language");
            HttpResponseMessage response = await Http.PostAsync("/v1/classify", form);
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            AssertLabelsMatch(JsonDocument.Parse(body).RootElement, "deu_Latn");
        }

        (status, JsonElement english) = await PostAsync("/v1/classify", new { image, labels, templates = "simple" });
        Assert.True(status == HttpStatusCode.OK, english.ToString());
        AssertLabelsMatch(english, "eng_Latn");

        // An unknown language is refused first: before the (broken) image is looked at.
        (HttpStatusCode bad, JsonElement problem) = await PostAsync("/v1/classify", new { image = "not an image", labels, language = "xx" });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("Language 'xx'", problem.GetProperty("detail").GetString());
    }


    private async Task<float[]> EmbedAsync(string text, string language)
    {
        (HttpStatusCode status, JsonElement body) = await PostAsync("/v1/embeddings", new { input = text, language });
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        return Vector(body);
    }

    private async Task<float[]> EmbedImageAsync(string file)
    {
        (HttpStatusCode status, JsonElement body) = await PostAsync("/v1/embeddings", new { input = new[] { new { image = Convert.ToBase64String(TestModel.Photo(file)) } } });
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        return Vector(body);
    }
}
