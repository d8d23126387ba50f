using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnivec.Onnx;

namespace Omnivec.Bench;

/// <summary>
/// <c>audiowindows</c>: chooses the hop between audio windows by measurement. Generates recordings (90 s of a quiet
/// pink-noise bed) with distinct synthetic sounds (tones, chirps, square waves, amplitude-modulated tones, click trains,
/// beeps, sirens, noise bursts, each with its own frequency) of 2, 4 or 8 s placed at known offsets, indexes every
/// recording's windows at each hop with a CLAP model, then searches by each sound's clip cut from its recording (embedded
/// as one, as <c>search --audio</c> does) and reports how often the first window is in the right recording and holds the
/// clip's midpoint, how far its start is from the sound's start (where the player starts), and windows per minute (the
/// indexing cost). Accuracy only; nothing is timed.
/// <code>dotnet run --project bench/Omnivec.Bench -c Release -- audiowindows [--model DIR] [--out DIR] [--hops 10,7.5,5,2.5] [--reuse yes]</code>
/// </summary>
internal static class AudioWindowBench
{
    private const double RecordingSec = 90;
    private const int Recordings = 8;
    private const int EventsPerRecording = 5;

    private sealed record Event(int Recording, string Kind, double Frequency, double Start, double Length)
    {
        public double Mid => Start + Length / 2;
    }

    private static readonly string[] Kinds = ["tone", "chirp", "square", "am", "clicks", "beeps", "siren", "twotone", "noiseburst"];

    public static int Run(Args a)
    {
        string model = a.Get("model", Path.Combine("tests", "fixtures", "models", "tiny-clap-hf"));
        string outDir = a.Get("out", Path.Combine("bench", "out", "audiowindows"));
        double[] hops = a.Get("hops", "10,7.5,5,2.5,1").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        bool reuse = a.Get("reuse", "no") == "yes";
        Directory.CreateDirectory(outDir);

        // Events: distinct kinds and frequencies at random non-overlapping offsets (fixed seed).
        var rng = new Random(17);
        var events = new List<Event>();
        double[] lengths = [2, 4, 8];
        int n = 0;
        for (int r = 0; r < Recordings; r++)
        {
            var placed = new List<Event>();
            while (placed.Count < EventsPerRecording)
            {
                double length = lengths[n % lengths.Length];
                double start = Math.Round(rng.NextDouble() * (RecordingSec - length - 1) + 0.5, 2);
                if (placed.Any(e => start < e.Start + e.Length + 1 && e.Start < start + length + 1))
                {
                    continue;
                }

                placed.Add(new Event(r, Kinds[n % Kinds.Length], Math.Round(150 * Math.Pow(2, rng.NextDouble() * 4), 1), start, length));
                n++;
            }

            events.AddRange(placed.OrderBy(e => e.Start));
            if (!reuse || !File.Exists(Path.Combine(outDir, $"rec{r}.wav")))
            {
                MakeRecording(Path.Combine(outDir, $"rec{r}.wav"), placed);
            }
        }

        // Clips cut from the recordings (sample-exact: PCM WAV).
        foreach (Event e in events.Where(e => !reuse || !File.Exists(ClipPath(outDir, e))))
        {
            Ffmpeg.Run(["-nostdin", "-v", "error", "-y", "-i", Path.Combine(outDir, $"rec{e.Recording}.wav"), "-ss", F(e.Start), "-t", F(e.Length),
                "-c:a", "pcm_s16le", ClipPath(outDir, e)]);
        }

        // The queries: each clip embedded as one (a clip shorter than a window is one window, whatever the hop).
        var queries = new Dictionary<Event, float[]>();
        using (var first = ClapEmbeddingGenerator.Load(model))
        {
            foreach (Event e in events)
            {
                queries[e] = first.EmbedAudioFileAsOneAsync(ClipPath(outDir, e)).GetAwaiter().GetResult().Vector.ToArray();
            }
        }

        var rows = new List<JsonObject>();
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"{events.Count} sounds (2, 4 and 8 s) in {Recordings} recordings of {RecordingSec:0} s; model {Path.GetFileName(Path.GetFullPath(model))}; 10 s windows.");
        md.AppendLine();
        md.AppendLine("| hop (s) | overlap | windows per minute | right window first | … for 2 s / 4 s / 8 s clips | clip wholly inside it | player start error mean / max (s) |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (double hop in hops)
        {
            using var generator = ClapEmbeddingGenerator.Load(model, new ClapModelOptions { WindowHopSeconds = hop });
            double window = generator.WindowSeconds;
            var windows = new List<(int Recording, double Start, double End, float[] Vector)>();
            for (int r = 0; r < Recordings; r++)
            {
                foreach (AudioSegmentEmbedding w in AudioIndexBench.Collect(generator.EmbedAudioFileAsync(Path.Combine(outDir, $"rec{r}.wav"))))
                {
                    windows.Add((r, w.StartSec, w.EndSec, w.Embedding.Vector.ToArray()));
                }
            }

            int right = 0, inside = 0;
            var rightByLength = lengths.ToDictionary(l => l, _ => 0);
            var errors = new List<double>();
            foreach (Event e in events)
            {
                float[] query = queries[e];
                var top = windows.MaxBy(w => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(query, w.Vector));
                bool ok = top.Recording == e.Recording && top.Start <= e.Mid && e.Mid < top.End;
                right += ok ? 1 : 0;
                rightByLength[e.Length] += ok ? 1 : 0;
                inside += ok && top.Start <= e.Start + 1e-6 && e.Start + e.Length <= top.End + 1e-6 ? 1 : 0;
                if (top.Recording == e.Recording)
                {
                    errors.Add(Math.Abs(top.Start - e.Start));
                }
            }

            double perMinute = windows.Count / (Recordings * RecordingSec / 60);
            string byLength = string.Join(" / ", lengths.Select(l => string.Create(CultureInfo.InvariantCulture, $"{rightByLength[l]}/{events.Count(e => e.Length == l)}")));
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {hop:0.##} | {1 - hop / window:0%} | {perMinute:0.0} | {right}/{events.Count} ({(double)right / events.Count:0%}) | {byLength} | {inside}/{events.Count} | {(errors.Count > 0 ? errors.Average() : double.NaN):0.00} / {(errors.Count > 0 ? errors.Max() : double.NaN):0.00} |");
            rows.Add(new JsonObject
            {
                ["hop_sec"] = hop,
                ["windows_per_minute"] = Math.Round(perMinute, 2),
                ["right_first"] = right,
                ["clip_inside"] = inside,
                ["queries"] = events.Count,
                ["start_error_mean_sec"] = errors.Count > 0 ? Math.Round(errors.Average(), 3) : null,
                ["start_error_max_sec"] = errors.Count > 0 ? Math.Round(errors.Max(), 3) : null,
            });
        }

        Console.WriteLine(md.ToString());
        var json = new JsonObject
        {
            ["model"] = model,
            ["events"] = new JsonArray([.. events.Select(e => (JsonNode)new JsonObject
            {
                ["recording"] = e.Recording, ["kind"] = e.Kind, ["frequency_hz"] = e.Frequency, ["start_sec"] = e.Start, ["length_sec"] = e.Length,
            })]),
            ["rows"] = new JsonArray([.. rows.Cast<JsonNode>()]),
        };
        File.WriteAllText(Path.Combine(outDir, "results.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static string ClipPath(string outDir, Event e) => Path.Combine(outDir, string.Create(CultureInfo.InvariantCulture, $"clip-rec{e.Recording}-{e.Start:0.00}.wav"));

    /// <summary>A 48 kHz mono WAV: a quiet pink-noise bed with the events mixed in at their offsets.</summary>
    private static void MakeRecording(string path, List<Event> events)
    {
        var args = new List<string> { "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", $"anoisesrc=d={F(RecordingSec)}:c=pink:r=48000:a=0.03:s=7" };
        var graph = new List<string>();
        for (int i = 0; i < events.Count; i++)
        {
            Event e = events[i];
            args.AddRange(["-f", "lavfi", "-i", $"aevalsrc='{Expression(e)}':s=48000:d={F(e.Length)}"]);
            long delayMs = (long)Math.Round(e.Start * 1000);
            graph.Add($"[{i + 1}:a]afade=t=in:d=0.02,afade=t=out:st={F(e.Length - 0.02)}:d=0.02,adelay={delayMs}|{delayMs}[e{i}]");
        }

        graph.Add("[0:a]" + string.Concat(Enumerable.Range(0, events.Count).Select(i => $"[e{i}]")) +
            $"amix=inputs={events.Count + 1}:duration=first:dropout_transition=0:normalize=0[out]");
        args.AddRange(["-filter_complex", string.Join(';', graph), "-map", "[out]", "-ac", "1", "-ar", "48000", "-c:a", "pcm_s16le", path]);
        Ffmpeg.Run(args);
    }

    /// <summary>The sound of an event as an aevalsrc expression of t (commas escaped for the filter graph).</summary>
    private static string Expression(Event e)
    {
        string f = F(e.Frequency);
        string expr = e.Kind switch
        {
            "tone" => $"0.4*sin(2*PI*{f}*t)",
            "chirp" => $"0.4*sin(2*PI*({f}+{f}*t/2)*t)",
            "square" => $"0.25*sgn(sin(2*PI*{f}*t))",
            "am" => $"0.4*sin(2*PI*{f}*t)*(0.5+0.5*sin(2*PI*5*t))",
            "clicks" => $"0.7*lt(mod(t,0.125),0.004)*sin(2*PI*{f}*4*t)",
            "beeps" => $"0.4*sin(2*PI*{f}*2*t)*lt(mod(t,0.5),0.25)",
            "siren" => $"0.4*sin(2*PI*{f}*2*t+{F(300 / (2 * Math.PI))}*sin(2*PI*t))",
            "twotone" => $"0.25*sin(2*PI*{f}*t)+0.25*sin(2*PI*{f}*1.5*t)",
            "noiseburst" => $"0.3*(random(0)*2-1)*lt(mod(t,{F(2000 / e.Frequency)}),{F(1000 / e.Frequency)})",
            _ => throw new ArgumentException(e.Kind),
        };
        return expr.Replace(",", "\\,", StringComparison.Ordinal);
    }

    private static string F(double value) => Ffmpeg.Number(value);
}
