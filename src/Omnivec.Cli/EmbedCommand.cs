using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Omnivec.Media;
using Omnivec.Onnx;
using Omnivec.Providers.Google;

namespace Omnivec.Cli;

/// <summary><c>omnivec embed</c>: texts, images and videos to vectors, one JSON line per input (per segment for video).</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var embedder = new EmbedderOptions();
        var texts = new Option<string[]>("--text", "-t") { Description = "A text to embed (repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var images = new Option<string[]>("--image", "-i") { Description = "An image file to embed (repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var videos = new Option<string[]>("--video") { Description = "A video file to embed, one vector per segment (every provider; needs FFmpeg except with google; repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var audios = new Option<string[]>("--audio") { Description = "An audio file (or a video's soundtrack) to embed with an audio model (CLAP), one vector per 10 s window (needs FFmpeg; repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var interval = new Option<int?>("--interval") { Description = "google: video segment length in seconds (at least 4; the service's default is 16); same as --segment-max." };
        var video = new VideoOptions();
        var json = new Option<bool>("--json") { Description = "Print one JSON object per input per line (the full vector)." };
        var language = new LanguageOption();
        var command = new Command("embed", "Embed texts, images, videos and audio. Texts print first, then images, then videos, then audio, each in the order given.");
        embedder.AddTo(command);
        language.AddTo(command);
        video.AddTo(command);
        foreach (Option option in new Option[] { texts, images, videos, audios, interval, json })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            string[] textValues = parse.GetValue(texts) ?? [];
            string[] imageValues = parse.GetValue(images) ?? [];
            string[] videoValues = parse.GetValue(videos) ?? [];
            string[] audioValues = parse.GetValue(audios) ?? [];
            if (textValues.Length == 0 && imageValues.Length == 0 && videoValues.Length == 0 && audioValues.Length == 0)
            {
                Output.Error("nothing to embed: give --text, --image, --video and/or --audio");
                return 2;
            }

            VideoSegmenterOptions segmenting;
            try
            {
                segmenting = video.Build(parse);
            }
            catch (ArgumentException ex)
            {
                Output.Error(ex.Message);
                return 2;
            }

            using IMultimodalEmbeddingGenerator generator = language.Apply(parse,
                await EmbedderFactory.CreateAsync(parse, embedder, null, cancellationToken).ConfigureAwait(false));
            var printer = new Printer(parse.GetValue(json), generator.Space);
            int failures = 0;

            if (textValues.Length > 0)
            {
                failures += await EmbedEachAsync<string>(generator, textValues, textValues, "text", printer, cancellationToken).ConfigureAwait(false);
            }

            if (imageValues.Length > 0)
            {
                failures += await EmbedImagesAsync(generator, imageValues, printer, cancellationToken).ConfigureAwait(false);
            }

            int? googleInterval = parse.GetValue(interval) ?? (parse.GetValue(video.SegmentMax) is double max ? (int)Math.Round(max) : null);
            foreach (string path in videoValues)
            {
                // Found through GetService, so a decorator around the generator does not hide Google's native video.
                failures += generator.GetService<VertexAIEmbeddingGenerator>() is { } google
                    ? await EmbedGoogleVideoAsync(google, path, googleInterval, printer, cancellationToken).ConfigureAwait(false)
                    : await EmbedVideoAsync(generator, path, segmenting, printer, cancellationToken).ConfigureAwait(false);
            }

            if (audioValues.Length > 0)
            {
                if (generator.GetService<IAudioFileEmbedder>() is not { } audio)
                {
                    Output.Error($"{generator.Space.ModelId} does not embed audio; use an audio model such as --model Xenova/clap-htsat-unfused");
                    return 2;
                }

                foreach (string path in audioValues)
                {
                    failures += await EmbedAudioAsync(audio, path, printer, cancellationToken).ConfigureAwait(false);
                }
            }

            return failures == 0 ? 0 : 1;
        });
        return command;
    }

    private static async Task<int> EmbedImagesAsync(IMultimodalEmbeddingGenerator generator, string[] paths, Printer printer, CancellationToken cancellationToken)
    {
        if (generator.GetService<IImageFileEmbedder>() is { } files)
        {
            // Local model: decoding in parallel, per-file outcomes.
            IReadOnlyList<EmbeddingOutcome> outcomes = files.EmbedImageFiles(paths, cancellationToken);
            int failed = 0;
            for (int i = 0; i < paths.Length; i++)
            {
                if (outcomes[i].Error is { } error)
                {
                    failed++;
                    Output.Error(error.Message);
                }
                else
                {
                    printer.Print(paths[i], "image", outcomes[i].Embedding!.Vector.Span);
                }
            }

            return failed;
        }

        var contents = new List<DataContent>();
        var names = new List<string>();
        int unreadable = 0;
        foreach (string path in paths)
        {
            try
            {
                contents.Add(new DataContent(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false), MediaTypeOf(path)) { Name = path });
                names.Add(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                unreadable++;
                Output.Error($"{path}: {(ex is FileNotFoundException or DirectoryNotFoundException ? "file not found" : ex.Message)}");
            }
        }

        return unreadable + await EmbedEachAsync<DataContent>(generator, contents, names, "image", printer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Embeds all inputs; a bad one is reported and fails only itself. Returns how many failed.</summary>
    private static async Task<int> EmbedEachAsync<TInput>(IEmbeddingGenerator<TInput, Embedding<float>> generator, IReadOnlyList<TInput> inputs, IReadOnlyList<string> names,
        string modality, Printer printer, CancellationToken cancellationToken)
    {
        IReadOnlyList<EmbeddingOutcome> outcomes = await generator.GenerateEachAsync(inputs, cancellationToken).ConfigureAwait(false);
        int failed = 0;
        for (int i = 0; i < outcomes.Count; i++)
        {
            if (outcomes[i].Embedding is { } embedding)
            {
                printer.Print(names[i], modality, embedding.Vector.Span);
            }
            else
            {
                failed++;
                string message = outcomes[i].Error!.Message;
                Output.Error(message.StartsWith(names[i], StringComparison.Ordinal) ? message : $"{names[i]}: {message}");
            }
        }

        return failed;
    }

    /// <summary>
    /// Any image embedder (local CLIP, Azure): FFmpeg decodes, the segmenter cuts shots and windows, the sampled frames of
    /// each segment are embedded and mean-pooled; one line per segment as it completes.
    /// </summary>
    private static async Task<int> EmbedVideoAsync(IMultimodalEmbeddingGenerator generator, string path, VideoSegmenterOptions options, Printer printer, CancellationToken cancellationToken)
    {
        var embedder = new VideoEmbedder(generator, new VideoSegmenter(options));
        try
        {
            await foreach (VideoSegmentVector segment in embedder.EmbedAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                printer.Print(path, "video", segment.Embedding.Vector.Span, segment.StartSec, segment.EndSec);
            }

            return 0;
        }
        catch (OmnivecException ex)
        {
            Output.Error(ex.Message.StartsWith(path, StringComparison.Ordinal) ? ex.Message : $"{path}: {ex.Message}");
            return 1;
        }
    }

    /// <summary>An audio model: FFmpeg decodes to mono at the model's rate, one line per window as it completes.</summary>
    private static async Task<int> EmbedAudioAsync(IAudioFileEmbedder audio, string path, Printer printer, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (AudioSegmentEmbedding window in audio.EmbedAudioFileAsync(path, cancellationToken).ConfigureAwait(false))
            {
                printer.Print(path, "audio", window.Embedding.Vector.Span, window.StartSec, window.EndSec);
            }

            return 0;
        }
        catch (OmnivecException ex)
        {
            Output.Error(ex.Message.StartsWith(path, StringComparison.Ordinal) ? ex.Message : $"{path}: {ex.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Google embeds video natively and returns its own segments; a video longer than the service analyses per request
    /// (2 minutes) or larger than one request may carry is split with FFmpeg and its pieces' segments joined.
    /// </summary>
    private static async Task<int> EmbedGoogleVideoAsync(VertexAIEmbeddingGenerator google, string path, int? interval, Printer printer, CancellationToken cancellationToken)
    {
        try
        {
            IReadOnlyList<VideoSegmentEmbedding> segments = await google.GenerateVideoEmbeddingsAsync(
                path, new VideoSegmentOptions { IntervalSec = interval }, cancellationToken).ConfigureAwait(false);
            foreach (VideoSegmentEmbedding segment in segments)
            {
                printer.Print(path, "video", segment.Embedding.Vector.Span, segment.StartOffsetSec, segment.EndOffsetSec);
            }

            return 0;
        }
        catch (OmnivecException ex)
        {
            Output.Error(ex.Message.StartsWith(path, StringComparison.Ordinal) ? ex.Message : $"{path}: {ex.Message}");
            return 1;
        }
    }

    private static string MediaTypeOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".jpg" or ".jpeg" => "image/jpeg",
        ".png" => "image/png",
        ".gif" => "image/gif",
        ".webp" => "image/webp",
        ".bmp" => "image/bmp",
        ".mp4" or ".m4v" => "video/mp4",
        ".mov" => "video/quicktime",
        ".webm" => "video/webm",
        ".mkv" => "video/x-matroska",
        ".avi" => "video/x-msvideo",
        _ => "application/octet-stream",
    };

    private sealed class Printer(bool asJson, EmbeddingSpace space)
    {
        public void Print(string input, string modality, ReadOnlySpan<float> vector, double? start = null, double? end = null)
        {
            if (!asJson)
            {
                string segment = start is null ? "" : $" [{start:0.##}s–{end:0.##}s]";
                Console.WriteLine($"{modality,-5} {input}{segment}  {vector.Length}-d {Output.Preview(vector)}");
                return;
            }

            float[] copy = vector.ToArray();
            Output.WriteJsonLine(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("input", input);
                writer.WriteString("modality", modality);
                if (start is double s)
                {
                    writer.WriteNumber("start_offset_sec", Math.Round(s, 3));
                    writer.WriteNumber("end_offset_sec", Math.Round(end ?? s, 3));
                }

                writer.WriteString("model", space.ModelId);
                writer.WriteNumber("dimensions", copy.Length);

                writer.WriteStartArray("embedding");
                foreach (float value in copy)
                {
                    writer.WriteNumberValue(value);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            });
        }
    }
}
