using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Omnivec.Server;

/// <summary><c>POST /v1/embeddings</c>: the OpenAI embeddings API, extended with <c>{"image": …}</c> inputs.</summary>
internal sealed class EmbeddingsEndpoint(ServerEmbedder embedder, ImageUrlFetcher fetcher, OmnivecServerOptions options)
{
    public async Task<IResult> HandleAsync(HttpContext context)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        using JsonDocument document = await JsonRequest.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
        JsonElement root = document.RootElement;

        bool base64 = JsonRequest.String(root, "encoding_format") switch
        {
            null or "float" => false,
            "base64" => true,
            string other => throw ApiException.BadRequest($"'encoding_format' must be \"float\" or \"base64\"; got \"{ApiException.Quote(other)}\"."),
        };
        if (JsonRequest.Integer(root, "dimensions", 1, int.MaxValue) is long dimensions && dimensions != embedder.Space.Dimensions)
        {
            throw ApiException.BadRequest(
                $"This model produces {embedder.Space.Dimensions}-dimensional vectors and cannot produce {dimensions}; omit 'dimensions' or set it to {embedder.Space.Dimensions}.");
        }

        List<(bool IsImage, string Value)> inputs = ParseInputs(root);
        int count = inputs.Count;
        var texts = new List<(int Index, string Text)>();
        var images = new List<(int Index, DataContent Image)>();
        int tokens = 0;
        var budget = new RequestBudget(options);
        for (int i = 0; i < count; i++)
        {
            string label = count == 1 && !inputs[i].IsImage ? "'input'" : $"input[{i}]";
            if (inputs[i].IsImage)
            {
                byte[] bytes = await ImageSources.ReadAsync(inputs[i].Value, label, fetcher, budget, cancellationToken).ConfigureAwait(false);
                var prepared = embedder.PrepareImage(bytes, label);
                budget.AddPixels(prepared.Info, label);
                images.Add((i, prepared.Content));
            }
            else
            {
                embedder.CheckText(inputs[i].Value, label);
                texts.Add((i, inputs[i].Value));
                tokens += embedder.CountTokens(inputs[i].Value);
            }
        }

        // Text and image halves run at the same time; each joins whatever batch the other requests are forming.
        Task<GeneratedEmbeddings<Embedding<float>>> textTask = texts.Count == 0
            ? Task.FromResult(new GeneratedEmbeddings<Embedding<float>>())
            : embedder.Text.GenerateAsync(texts.Select(t => t.Text).ToArray(), cancellationToken: cancellationToken);
        Task<GeneratedEmbeddings<Embedding<float>>> imageTask = images.Count == 0
            ? Task.FromResult(new GeneratedEmbeddings<Embedding<float>>())
            : embedder.Images.GenerateAsync(images.Select(t => t.Image).ToArray(), cancellationToken: cancellationToken);
        await Task.WhenAll(textTask, imageTask).ConfigureAwait(false);

        var vectors = new ReadOnlyMemory<float>[count];
        GeneratedEmbeddings<Embedding<float>> textVectors = await textTask.ConfigureAwait(false);
        GeneratedEmbeddings<Embedding<float>> imageVectors = await imageTask.ConfigureAwait(false);
        for (int t = 0; t < texts.Count; t++)
        {
            vectors[texts[t].Index] = textVectors[t].Vector;
        }

        for (int m = 0; m < images.Count; m++)
        {
            vectors[images[m].Index] = imageVectors[m].Vector;
        }

        var data = new EmbeddingData[count];
        for (int i = 0; i < count; i++)
        {
            object embedding = base64
                ? Convert.ToBase64String(MemoryMarshal.AsBytes(vectors[i].Span)) // little-endian float32, as OpenAI sends it
                : vectors[i].ToArray();
            data[i] = new EmbeddingData("embedding", i, embedding);
        }

        return TypedResults.Ok(new EmbeddingsResponse("list", data, embedder.Space.ModelId, new EmbeddingsUsage(tokens, tokens)));
    }

    private List<(bool IsImage, string Value)> ParseInputs(JsonElement root)
    {
        if (!root.TryGetProperty("input", out JsonElement input) || input.ValueKind == JsonValueKind.Null)
        {
            throw ApiException.BadRequest("'input' is required: a string, an array of strings, or an array of {\"text\": …} / {\"image\": …} objects.");
        }

        var inputs = new List<(bool, string)>();
        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                inputs.Add((false, JsonRequest.Text(input, "input")));
                break;
            case JsonValueKind.Array:
                int length = input.GetArrayLength();
                if (length == 0)
                {
                    throw ApiException.BadRequest("'input' is an empty array; send at least one input.");
                }

                if (length > options.MaxItemsPerRequest)
                {
                    throw ApiException.BadRequest($"'input' has {length} items; the limit is {options.MaxItemsPerRequest} per request.");
                }

                int i = 0;
                foreach (JsonElement item in input.EnumerateArray())
                {
                    inputs.Add(ParseItem(item, i++));
                }

                break;
            default:
                throw ApiException.BadRequest(
                    $"'input' must be a string, an array of strings, or an array of {{\"text\": …}} / {{\"image\": …}} objects; got {JsonRequest.Describe(input.ValueKind)}.");
        }

        return inputs;
    }

    private static (bool IsImage, string Value) ParseItem(JsonElement item, int index)
    {
        switch (item.ValueKind)
        {
            case JsonValueKind.String:
                return (false, JsonRequest.Text(item, $"input[{index}]"));
            case JsonValueKind.Number:
            case JsonValueKind.Array:
                throw ApiException.BadRequest(
                    $"input[{index}]: token ids are not supported; this server tokenizes for its own model, so send text as strings.");
            case JsonValueKind.Object:
                bool hasText = item.TryGetProperty("text", out JsonElement text);
                bool hasImage = item.TryGetProperty("image", out JsonElement image);
                if (hasText == hasImage)
                {
                    throw ApiException.BadRequest($"input[{index}] must have exactly one of \"text\" or \"image\".");
                }

                JsonElement value = hasText ? text : image;
                if (value.ValueKind != JsonValueKind.String)
                {
                    throw JsonRequest.WrongType($"input[{index}].{(hasText ? "text" : "image")}", "a string", value);
                }

                return (hasImage, JsonRequest.Text(value, $"input[{index}].{(hasText ? "text" : "image")}"));
            default:
                throw ApiException.BadRequest($"input[{index}] must be a string or an object with \"text\" or \"image\"; got {JsonRequest.Describe(item.ValueKind)}.");
        }
    }
}
