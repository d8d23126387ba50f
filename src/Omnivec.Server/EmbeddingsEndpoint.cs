using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Omnivec.Server;

/// <summary>
/// <c>POST /v1/embeddings</c>: the OpenAI embeddings API, extended with <c>{"image": …}</c>, <c>{"audio": …}</c> and
/// <c>{"video": …}</c> inputs. A recording or video answers with one entry like any input (the normalised mean of its
/// moments) plus its <c>segments</c>: one embedding per window or shot with its offsets.
/// </summary>
internal sealed class EmbeddingsEndpoint(ServerEmbedder embedder, ImageUrlFetcher fetcher, OmnivecServerOptions options)
{
    public async Task<IResult> HandleAsync(HttpContext context)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        EmbeddingsRequest request = await JsonRequest.ReadAsync(context.Request, RequestJsonContext.Default.EmbeddingsRequest, cancellationToken).ConfigureAwait(false);

        bool base64 = request.EncodingFormat switch
        {
            null or "float" => false,
            "base64" => true,
            string other => throw ApiException.BadRequest($"'encoding_format' must be \"float\" or \"base64\"; got \"{ApiException.Quote(other)}\"."),
        };
        if (request.Dimensions is int dimensions && dimensions != embedder.Space.Dimensions)
        {
            throw ApiException.BadRequest(dimensions < 1
                ? $"'dimensions' must be between 1 and {int.MaxValue}; got {dimensions}."
                : $"This model produces {embedder.Space.Dimensions}-dimensional vectors and cannot produce {dimensions}; omit 'dimensions' or set it to {embedder.Space.Dimensions}.");
        }

        IReadOnlyList<EmbeddingInput> inputs = request.Input
            ?? throw ApiException.BadRequest("'input' is required: a string, an array of strings, or an array of {\"text\": …} / {\"image\": …} / {\"audio\": …} / {\"video\": …} objects.");
        if (inputs.Count == 0)
        {
            throw ApiException.BadRequest("'input' is an empty array; send at least one input.");
        }

        if (inputs.Count > options.MaxItemsPerRequest)
        {
            throw ApiException.BadRequest($"'input' has {inputs.Count} items; the limit is {options.MaxItemsPerRequest} per request.");
        }

        int count = inputs.Count;
        string? language = embedder.ResolveLanguage(request.Language);
        var texts = new List<(int Index, string Text)>();
        var images = new List<(int Index, DataContent Image)>();
        var media = new List<(int Index, byte[] Bytes, bool IsVideo, string Label)>();
        int tokens = 0;
        var budget = new RequestBudget(options);
        for (int i = 0; i < count; i++)
        {
            string label = count == 1 && inputs[i].Text is not null ? "'input'" : $"input[{i}]";
            if ((inputs[i].Audio ?? inputs[i].Video) is string recording)
            {
                bool isVideo = inputs[i].Video is not null;
                if (!isVideo && !embedder.EmbedsAudio)
                {
                    throw ApiException.BadRequest(
                        $"{label}: this server's model ({embedder.Space.ModelId}) does not embed audio; serve an audio model such as Xenova/clap-htsat-unfused to send audio.");
                }

                byte[] bytes = ImageSources.ReadInline(recording, label, isVideo ? "data:video/mp4;base64,…" : "data:audio/wav;base64,…");
                media.Add((i, bytes, isVideo, label));
            }
            else if (inputs[i].Image is string image)
            {
                byte[] bytes = await ImageSources.ReadAsync(image, label, fetcher, budget, cancellationToken).ConfigureAwait(false);
                var prepared = embedder.PrepareImage(bytes, label);
                budget.AddPixels(prepared.Info, label);
                images.Add((i, prepared.Content));
            }
            else
            {
                string text = inputs[i].Text!;
                embedder.CheckText(text, label);
                texts.Add((i, text));
                tokens += embedder.CountTokens(text);
            }
        }

        // Text and image halves run at the same time; each joins whatever batch the other requests are forming.
        Task<GeneratedEmbeddings<Embedding<float>>> textTask = texts.Count == 0
            ? Task.FromResult(new GeneratedEmbeddings<Embedding<float>>())
            : embedder.Text.GenerateAsync(texts.Select(t => ServerEmbedder.InLanguage(t.Text, language)).ToArray(), cancellationToken: cancellationToken);
        Task<GeneratedEmbeddings<Embedding<float>>> imageTask = images.Count == 0
            ? Task.FromResult(new GeneratedEmbeddings<Embedding<float>>())
            : embedder.Images.GenerateAsync(images.Select(t => t.Image).ToArray(), cancellationToken: cancellationToken);
        // Recordings and videos one after another (each already keeps the cores busy), while text and images run.
        var segments = new IReadOnlyList<MediaSegment>[media.Count];
        for (int m = 0; m < media.Count; m++)
        {
            segments[m] = await embedder.EmbedMediaAsync(media[m].Bytes, media[m].IsVideo, media[m].Label, cancellationToken).ConfigureAwait(false);
        }

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

        var moments = new (string Modality, EmbeddingSegment[] Segments)?[count];
        for (int m = 0; m < media.Count; m++)
        {
            vectors[media[m].Index] = ServerEmbedder.Pool(segments[m]);
            string modality = media[m].IsVideo && !embedder.EmbedsAudio ? "video" : "audio";
            moments[media[m].Index] = (modality, [.. segments[m].Select(s => new EmbeddingSegment(s.StartSec, s.EndSec, Encode(s.Vector, base64)))]);
        }

        var data = new EmbeddingData[count];
        for (int i = 0; i < count; i++)
        {
            data[i] = new EmbeddingData("embedding", i, Encode(vectors[i], base64))
            {
                Modality = moments[i]?.Modality,
                Segments = moments[i]?.Segments,
            };
        }

        return TypedResults.Ok(new EmbeddingsResponse("list", data, embedder.Space.ModelId, new EmbeddingsUsage(tokens, tokens)));
    }

    /// <summary>A float array, or base64 of little-endian float32 as OpenAI sends it.</summary>
    private static object Encode(ReadOnlyMemory<float> vector, bool base64) =>
        base64 ? Convert.ToBase64String(MemoryMarshal.AsBytes(vector.Span)) : vector.ToArray();
}
