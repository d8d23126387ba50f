using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using Omnivec.Media;
using Omnivec.Onnx;

namespace Omnivec.Bench;

/// <summary>
/// <c>videoframes</c>: chooses <see cref="VideoSegmenterOptions.FramesPerSegment"/> by measurement. Generates videos from
/// the corpus photos with known shots (slow pans over one photo; pans from one photo to another across a strip of two,
/// so a segment's content changes from start to end; fast pans, zooms and shake; long shots split into windows), runs
/// the real <see cref="VideoEmbedder"/> at each frames-per-segment setting, and reports for each setting: how close each
/// segment's pooled vector is to the one pooled from many frames (cosine), and whether searching with each photo (embedded
/// as a file, as <c>search --image</c> does) finds a segment of its own shot first. Accuracy only; nothing is timed.
/// <code>dotnet run --project bench/Omnivec.Bench -c Release -- videoframes [--model DIR] [--out DIR] [--frames 1,2,3,4,6,8] [--dense 16] [--reuse yes]</code>
/// </summary>
internal static class VideoFramesBench
{
    private const int W = 640;
    private const int H = 360;
    private const int Fps = 30;

    /// <summary>A shot: one photo, or a pan from <paramref name="Photo"/> to <paramref name="Second"/> across the two side by side.</summary>
    private sealed record Shot(string Photo, double Sec, string Motion = "pan", string? Second = null)
    {
        public IEnumerable<string> Photos => Second is null ? [Photo] : [Photo, Second];
    }

    private sealed record Spec(string Name, string Category, Shot[] Shots);

    private static Spec[] Specs() =>
    [
        new("pans.mp4", "slow pans (as the speed bench)",
        [
            new("two_beagles.jpg", 9), new("bananas.jpg", 14), new("beach_kitesurfing.jpg", 6), new("motel_sign.jpg", 11),
            new("tabby_cat_lying.jpg", 13), new("palm_trees_sky.jpg", 7), new("hotdog.jpg", 12), new("boardwalk_to_sea.jpg", 10),
        ]),
        new("strips.mp4", "a pan from one photo to another (content changes within the segment)",
        [
            new("kodak_red_door.png", 12, "strip", "espresso_cup.png"), new("succulent_plants.jpg", 12, "strip", "navy_propeller_plane.jpg"),
            new("heather_flowers.jpg", 12, "strip", "tomatoes.jpg"), new("white_mug.jpg", 12, "strip", "city_street_from_car.jpg"),
            new("astronaut.png", 12, "strip", "rocket_launchpad_night.jpg"), new("three_men_indoors.jpg", 12, "strip", "kodak_macaws.png"),
        ]),
        new("motion.mp4", "fast pans, zooms, shake",
        [
            new("yoga_pose_beach.jpg", 8, "fastpan"), new("plumeria_flower.jpg", 8, "zoom"), new("restaurant_table.jpg", 8, "shake"),
            new("puppies_on_road.jpg", 8, "fastpan"), new("snowy_mountain_peak.jpg", 8, "zoom"), new("kodak_window_hibiscus.png", 8, "shake"),
        ]),
        new("long.mp4", "long shots split into windows (slow zoom across the photo)",
        [
            new("cat_chelsea.png", 40, "slowzoom"), new("motorcyclists_roadside.jpg", 36, "slowzoom"), new("building_red_lettering.jpg", 30, "slowzoom"),
        ]),
    ];

    public static int Run(Args a)
    {
        string photos = a.Get("photos", Path.Combine("tests", "fixtures", "corpus", "images", "photos"));
        string outDir = a.Get("out", Path.Combine("bench", "out", "videoframes"));
        string model = a.Get("model", Path.Combine("tools", "out", "clip-vit-b32-random"));
        int[] settings = a.Ints("frames", "1,2,3,4,6,8");
        int dense = a.Int("dense", 16);
        bool reuse = a.Get("reuse", "no") == "yes";
        Directory.CreateDirectory(outDir);
        using var generator = ClipEmbeddingGenerator.Load(model, new ClipModelOptions { IntraOpThreads = a.Int("threads", 2) });

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"model {Path.GetFileName(Path.TrimEndingDirectorySeparator(model))}, reference: {dense} frames per segment");
        report.AppendLine("| video | frames per segment | segments | cosine to the reference, mean (min) | cosine to 4 frames, mean (min) | photo finds its shot first | mean rank of its shot |");
        report.AppendLine("|---|---|---|---|---|---|---|");
        var totals = new Dictionary<int, (double CosSum, double CosMin, int Segments, int Hits, int Queries, double RankSum)>();
        foreach (Spec spec in Specs())
        {
            string path = Path.Combine(outDir, spec.Name);
            (double Start, double End, Shot Shot)[] shots = Generate(spec, photos, path, reuse);
            string[] queryPhotos = [.. shots.SelectMany(s => s.Shot.Photos)];
            float[][] queries = [.. generator.EmbedImageFiles([.. queryPhotos.Select(p => Path.Combine(photos, p))]).Select(o => o.Embedding!.Vector.ToArray())];

            var pooled = new Dictionary<int, IReadOnlyList<VideoSegmentVector>>();
            foreach (int n in settings.Append(4).Append(dense).Distinct())
            {
                var embedder = new VideoEmbedder(generator, new VideoSegmenter(new VideoSegmenterOptions { FramesPerSegment = n }));
                pooled[n] = embedder.EmbedAllAsync(path).GetAwaiter().GetResult();
            }

            IReadOnlyList<VideoSegmentVector> reference = pooled[dense];
            double unrelated = Unrelated(reference, shots);
            foreach (int n in settings)
            {
                IReadOnlyList<VideoSegmentVector> segments = pooled[n];
                if (segments.Count != reference.Count)
                {
                    throw new InvalidOperationException($"{spec.Name}: {segments.Count} segments at {n} frames, {reference.Count} at {dense}");
                }

                double[] toDense = [.. segments.Select((s, i) => Cosine(s, reference[i]))];
                double[] toFour = [.. segments.Select((s, i) => Cosine(s, pooled[4][i]))];
                int hits = 0;
                double rankSum = 0;
                for (int q = 0; q < queryPhotos.Length; q++)
                {
                    // The shot that shows this photo; a segment belongs to it when its middle lies inside.
                    (double start, double end, _) = shots.First(s => s.Shot.Photos.Contains(queryPhotos[q]));
                    bool Own(VideoSegmentVector s) => (s.StartSec + s.EndSec) / 2 > start && (s.StartSec + s.EndSec) / 2 < end;
                    VideoSegmentVector[] ranked = [.. segments.OrderByDescending(s => TensorPrimitives.Dot(queries[q], s.Embedding.Vector.Span))];
                    int rank = Array.FindIndex(ranked, Own) + 1;
                    hits += rank == 1 ? 1 : 0;
                    rankSum += rank;
                }

                report.AppendLine(CultureInfo.InvariantCulture,
                    $"| {spec.Name} | {n} | {segments.Count} | {toDense.Average():0.0000} ({toDense.Min():0.0000}) | {toFour.Average():0.0000} ({toFour.Min():0.0000}) | {hits}/{queryPhotos.Length} | {rankSum / queryPhotos.Length:0.00} |");
                var t = totals.GetValueOrDefault(n, (0, 1, 0, 0, 0, 0));
                totals[n] = (t.CosSum + toDense.Sum(), Math.Min(t.CosMin, toDense.Min()), t.Segments + segments.Count, t.Hits + hits, t.Queries + queryPhotos.Length, t.RankSum + rankSum);
            }

            report.AppendLine(CultureInfo.InvariantCulture, $"| {spec.Name} | (segments of different shots, {dense} frames) | | {unrelated:0.0000} (mean cosine) | | | |");
            Console.Error.WriteLine($"  {spec.Name}: {reference.Count} segments, {queryPhotos.Length} query photos");
        }

        report.AppendLine();
        report.AppendLine("| frames per segment | segments | cosine to the reference, mean (min) | photo finds its shot first | mean rank |");
        report.AppendLine("|---|---|---|---|---|");
        foreach ((int n, var t) in totals.OrderBy(kv => kv.Key))
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"| {n} | {t.Segments} | {t.CosSum / t.Segments:0.0000} ({t.CosMin:0.0000}) | {t.Hits}/{t.Queries} | {t.RankSum / t.Queries:0.00} |");
        }

        string text = report.ToString();
        File.WriteAllText(Path.Combine(outDir, $"videoframes-{Path.GetFileName(Path.TrimEndingDirectorySeparator(model))}.md"), text);
        Console.Out.Write(text);
        return 0;
    }

    private static double Cosine(VideoSegmentVector x, VideoSegmentVector y) => TensorPrimitives.CosineSimilarity(x.Embedding.Vector.Span, y.Embedding.Vector.Span);

    /// <summary>The mean cosine between segments of different shots: the scale against which the distances above read.</summary>
    private static double Unrelated(IReadOnlyList<VideoSegmentVector> segments, (double Start, double End, Shot Shot)[] shots)
    {
        int ShotOf(VideoSegmentVector s) => Array.FindIndex(shots, x => (s.StartSec + s.EndSec) / 2 > x.Start && (s.StartSec + s.EndSec) / 2 < x.End);
        var values = new List<double>();
        for (int i = 0; i < segments.Count; i++)
        {
            for (int j = i + 1; j < segments.Count; j++)
            {
                if (ShotOf(segments[i]) != ShotOf(segments[j]))
                {
                    values.Add(Cosine(segments[i], segments[j]));
                }
            }
        }

        return values.Count == 0 ? double.NaN : values.Average();
    }

    private static (double Start, double End, Shot Shot)[] Generate(Spec spec, string photos, string output, bool reuse)
    {
        var args = new List<string> { "-nostdin", "-v", "error", "-y" };
        var graph = new List<string>();
        int input = 0;
        for (int i = 0; i < spec.Shots.Length; i++)
        {
            Shot shot = spec.Shots[i];
            foreach (string photo in shot.Photos)
            {
                args.AddRange(["-loop", "1", "-framerate", I(Fps), "-t", F(shot.Sec), "-i", Path.Combine(photos, photo)]);
            }

            string cover = $"scale={I(W)}:{I(H)}:force_original_aspect_ratio=increase,crop={I(W)}:{I(H)},setsar=1";
            if (shot.Second is not null)
            {
                // The two photos side by side; the frame moves from the first to the second over the shot.
                graph.Add($"[{input}:v]{cover}[a{i}];[{input + 1}:v]{cover}[b{i}];[a{i}][b{i}]hstack=inputs=2,crop={I(W)}:{I(H)}:'t*{F(W / shot.Sec)}':0,setsar=1,fps={Fps},format=yuv420p,settb=1/{Fps}[v{i}]");
                input += 2;
            }
            else
            {
                graph.Add($"[{input}:v]{ShotFilter(shot)},setsar=1,fps={Fps},format=yuv420p,settb=1/{Fps}[v{i}]");
                input++;
            }
        }

        graph.Add(string.Concat(Enumerable.Range(0, spec.Shots.Length).Select(i => $"[v{i}]")) + $"concat=n={spec.Shots.Length}:v=1:a=0[out]");
        args.AddRange(["-filter_complex", string.Join(';', graph), "-map", "[out]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p", output]);
        if (!reuse || !File.Exists(output))
        {
            Ffmpeg.Run(args);
        }

        var shots = new List<(double, double, Shot)>();
        double t = 0;
        foreach (Shot shot in spec.Shots)
        {
            shots.Add((t, t + shot.Sec, shot));
            t += shot.Sec;
        }

        return [.. shots];
    }

    /// <summary>How the "camera" moves over one photo.</summary>
    private static string ShotFilter(Shot shot)
    {
        string Cover(double factor) =>
            $"scale={I((int)(W * factor))}:{I((int)(H * factor))}:force_original_aspect_ratio=increase,crop={I((int)(W * factor))}:{I((int)(H * factor))}";
        return shot.Motion switch
        {
            "pan" => $"{Cover(1.25)},crop={W}:{H}:'min(iw-{W},t*12)':'min(ih-{H},t*8)'",
            // Across a 2.2x close-up at 90 px/s: the frame shows other parts of the photo as the shot goes on.
            "fastpan" => $"{Cover(2.2)},crop={W}:{H}:'min(iw-{W},t*90)':'(ih-{H})/2'",
            "zoom" => $"{Cover(2)},zoompan=z='min(1+1.2*in/{I((int)(shot.Sec * Fps))},2.2)':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s={W}x{H}:fps={Fps}",
            "shake" => $"{Cover(1.25)},crop={W}:{H}:'(iw-{W})/2+24*sin(2*PI*t*1.7)+10*sin(2*PI*t*4.3)':'(ih-{H})/2+14*sin(2*PI*t*2.1)+8*sin(2*PI*t*5.3)'",
            // A slow zoom into one corner over the whole shot (several windows, each showing less of the photo).
            "slowzoom" => $"{Cover(2)},zoompan=z='min(1+2*in/{I((int)(shot.Sec * Fps))},3)':x='(iw-iw/zoom)*0.8':y='(ih-ih/zoom)*0.3':d=1:s={W}x{H}:fps={Fps}",
            _ => throw new ArgumentException($"unknown motion {shot.Motion}"),
        };
    }

    private static string F(double value) => Ffmpeg.Number(value);

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
