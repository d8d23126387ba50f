using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Omnivec.Imaging;
using Omnivec.Onnx;

namespace Omnivec.Bench;

/// <summary>
/// How far JPEG reduced decoding (1/2, 1/4, 1/8 in the IDCT) moves image embeddings from the full decode, to choose
/// <see cref="ImageDecoderOptions.ReducedDecodeFactor"/> by measurement. Every JPEG is decoded at each scale, resized and
/// cropped by the pack's own preprocessing and embedded by the given model; the cosine to the full-decode embedding is
/// printed per image and, per candidate factor, the minimum over all images of the scale the decoder would pick.
///   decodefactors --model DIR --dirs DIR[,DIR…] [--out FILE] [--md FILE] [--threads 2] [--factors 1,1.5,2,3,4] [--repeats 3]
/// </summary>
internal static class DecodeFactorBench
{
    private static readonly int[] Denominators = [1, 2, 4, 8];
    private const double Goal = 0.9999;

    public static int Run(Args a)
    {
        string modelDir = a.Get("model");
        string[] dirs = a.Get("dirs").Split(',', StringSplitOptions.RemoveEmptyEntries);
        int threads = a.Int("threads", 2);
        int repeats = a.Int("repeats", 3);
        double[] factors = a.Get("factors", "1,1.5,2,3,4").Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        using var generator = ClipEmbeddingGenerator.Load(modelDir, new ClipModelOptions { IntraOpThreads = threads, MaxBatchSize = 1 });
        int target = generator.Preprocessor.TargetShortSide;
        var decoder = new ImageDecoder(new ImageDecoderOptions { ReducedDecodeFactor = 0 });

        var rows = new List<Row>();
        var references = new List<float[]>();
        foreach (string dir in dirs)
        {
            // A folder (its files, in name order) or a single file; the set is the folder's name.
            bool single = File.Exists(dir);
            string set = Path.GetFileName(Path.TrimEndingDirectorySeparator(single ? Path.GetDirectoryName(Path.GetFullPath(dir))! : dir));
            foreach (string file in single ? [dir] : Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToArray())
            {
                byte[] bytes = File.ReadAllBytes(file);
                ImageInfo info;
                try
                {
                    info = decoder.Identify(bytes, Path.GetFileName(file));
                }
                catch (OmnivecException)
                {
                    continue;
                }

                if (info.Format != "jpeg")
                {
                    continue;
                }

                var row = new Row(set, Path.GetFileName(file), info.Width, info.Height);
                float[]? reference = null;
                foreach (int den in Denominators)
                {
                    RgbImage decoded;
                    try
                    {
                        decoded = decoder.DecodeAtScale(bytes, den, row.File);
                    }
                    catch (OmnivecException e)
                    {
                        Console.Error.WriteLine($"  {row.File}: skipped, {e.Message}");
                        break;
                    }

                    using RgbImage image = decoded;
                    int shortSide = Math.Min(image.Width, image.Height);
                    if (den > 1 && (shortSide < target || (image.Width == info.Width && image.Height == info.Height)))
                    {
                        continue; // below the target (the decoder never picks it) or no reduction available
                    }

                    double decodeMs = Median(Enumerable.Range(0, repeats).Select(_ =>
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        using RgbImage again = decoder.DecodeAtScale(bytes, den, row.File);
                        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    }).ToArray());
                    float[] vector = generator.EmbedImages([image])[0];
                    reference ??= vector;
                    row.Scales[den] = new ScaleResult(image.Width, image.Height, (double)shortSide / target, Cosine(reference, vector), decodeMs);
                }

                if (reference is null)
                {
                    continue;
                }

                references.Add(reference);
                // The scale the shipped decoder picks for each candidate factor (decoded through the public path, matched by size).
                foreach (double f in factors)
                {
                    using RgbImage picked = new ImageDecoder(new ImageDecoderOptions { ReducedDecodeFactor = f }).Decode(bytes, row.File, target);
                    row.Picks[f] = row.Scales.First(kv => kv.Value.Width == picked.Width && kv.Value.Height == picked.Height).Key;
                }

                rows.Add(row);
                Console.Error.WriteLine($"  {row.Set}/{row.File} {row.Width}x{row.Height}: " + string.Join(", ",
                    row.Scales.Select(kv => $"1/{kv.Key} {kv.Value.Cosine:0.000000}")));
            }
        }

        // For scale: how far apart two different images' embeddings are on this model.
        var pairs = new List<double>();
        for (int i = 0; i < references.Count; i++)
        {
            for (int j = i + 1; j < references.Count; j++)
            {
                pairs.Add(Cosine(references[i], references[j]));
            }
        }

        double differentMedian = pairs.Count > 0 ? Median([.. pairs]) : double.NaN;
        double differentMax = pairs.Count > 0 ? pairs.Max() : double.NaN;
        string md = Markdown(rows, factors, target, generator.Space.ToString(), differentMedian, differentMax);
        Console.WriteLine(md);
        if (a.Get("md", "") is { Length: > 0 } mdPath)
        {
            File.WriteAllText(mdPath, md);
        }

        if (a.Get("out", "") is { Length: > 0 } outPath)
        {
            var json = new JsonObject
            {
                ["model"] = generator.Space.ToString(),
                ["target_short_side"] = target,
                ["goal_min_cosine"] = Goal,
                ["different_images_cosine_median"] = differentMedian,
                ["different_images_cosine_max"] = differentMax,
                ["images"] = new JsonArray(rows.Select(r => (JsonNode)new JsonObject
                {
                    ["set"] = r.Set,
                    ["file"] = r.File,
                    ["width"] = r.Width,
                    ["height"] = r.Height,
                    ["scales"] = new JsonArray(r.Scales.Select(kv => (JsonNode)new JsonObject
                    {
                        ["denominator"] = kv.Key,
                        ["width"] = kv.Value.Width,
                        ["height"] = kv.Value.Height,
                        ["short_side_over_target"] = Math.Round(kv.Value.Ratio, 3),
                        ["cosine"] = kv.Value.Cosine,
                        ["decode_ms"] = Math.Round(kv.Value.DecodeMs, 2),
                    }).ToArray()),
                    ["picked"] = new JsonObject(r.Picks.Select(kv => KeyValuePair.Create(kv.Key.ToString("0.##", CultureInfo.InvariantCulture), (JsonNode?)kv.Value))),
                }).ToArray()),
                ["factors"] = new JsonArray(factors.Select(f => (JsonNode)new JsonObject
                {
                    ["factor"] = f,
                    ["min_cosine"] = rows.Min(r => r.Scales[r.Picks[f]].Cosine),
                    ["reduced_images"] = rows.Count(r => r.Picks[f] > 1),
                }).ToArray()),
            };
            File.WriteAllText(outPath, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        }

        return 0;
    }

    private static string Markdown(List<Row> rows, double[] factors, int target, string model, double differentMedian, double differentMax)
    {
        var sb = new StringBuilder();
        string F(double v) => v.ToString("0.000000", CultureInfo.InvariantCulture);
        sb.AppendLine(CultureInfo.InvariantCulture, $"Model `{model}`, target short side {target} px. Cosine of each image's embedding to its full-decode embedding (1/1), by JPEG IDCT scale; in brackets the decoded short side ÷ the target. Scales whose short side would fall below the target are never used and not shown.");
        sb.AppendLine();
        sb.AppendLine("| Set | Image | Size | 1/2 | 1/4 | 1/8 | Decode ms 1/1 → 1/2 → 1/4 → 1/8 |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (Row r in rows.Where(r => r.Scales.Count > 1))
        {
            string Cell(int den) => r.Scales.TryGetValue(den, out ScaleResult? s) ? $"{F(s.Cosine)} ({s.Ratio:0.0}×)" : "–";
            string times = string.Join(" → ", r.Scales.Values.Select(s => s.DecodeMs.ToString("0.#", CultureInfo.InvariantCulture)));
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Set} | {r.File} | {r.Width}×{r.Height} | {Cell(2)} | {Cell(4)} | {Cell(8)} | {times} |");
        }

        int unreduced = rows.Count(r => r.Scales.Count == 1);
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{rows.Count} JPEGs in all; {unreduced} of them are too small for any reduction (short side below 2 × {target}) and always decode at full size. For scale, two different images' full-decode embeddings have a cosine of {F(differentMedian)} (median over all pairs; closest pair {F(differentMax)}) on this model.");
        sb.AppendLine();
        sb.AppendLine("| `ReducedDecodeFactor` | Rule: smallest scale whose short side ≥ factor × target | Min cosine over all images | 1 − min cosine | Images decoded reduced | 4000×3000 decodes at | Meets ≥ 0.9999 |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (double f in factors)
        {
            double min = rows.Min(r => r.Scales[r.Picks[f]].Cosine);
            string large = rows.FirstOrDefault(r => r.Width * (long)r.Height >= 12_000_000) is { } l ? $"1/{l.Picks[f]}" : "–";
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {f:0.##}{(f == new ImageDecoderOptions().ReducedDecodeFactor ? " (default)" : "")} | ≥ {f * target:0} px | {F(min)} | {1 - min:0.0e+0} | {rows.Count(r => r.Picks[f] > 1)} | {large} | {(min >= Goal ? "yes" : "no")} |");
        }

        return sb.ToString();
    }

    private static double Cosine(float[] x, float[] y)
    {
        double dot = 0, nx = 0, ny = 0;
        for (int i = 0; i < x.Length; i++)
        {
            dot += (double)x[i] * y[i];
            nx += (double)x[i] * x[i];
            ny += (double)y[i] * y[i];
        }

        return dot / Math.Sqrt(nx * ny);
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        return values.Length % 2 == 1 ? values[values.Length / 2] : (values[(values.Length / 2) - 1] + values[values.Length / 2]) / 2;
    }

    private sealed record ScaleResult(int Width, int Height, double Ratio, double Cosine, double DecodeMs);

    private sealed record Row(string Set, string File, int Width, int Height)
    {
        public SortedDictionary<int, ScaleResult> Scales { get; } = [];

        public Dictionary<double, int> Picks { get; } = [];
    }
}
