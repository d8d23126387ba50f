using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnivec.Media;

namespace Omnivec.Bench;

/// <summary>
/// <c>scenecuts</c>: chooses the scene-cut threshold by measurement. Generates videos from the corpus photos with known
/// transitions (hard cuts between distinct photos, cuts between similar-looking photos and between two framings of one
/// photo, dissolves, fades through black, fast pans, zooms, handheld shake, an exposure change, noise and heavy
/// compression), scores every analysis frame once with the segmenter's own detector (<see cref="ContentDetector"/> at the
/// default analysis rate and frame size), then applies the segmenter's cut rule (<see cref="CutRule"/>) at every
/// threshold and reports precision and recall of cuts found within 0.25 s of the truth (for a gradual transition:
/// within 0.25 s of its span). Finally it runs the real <see cref="VideoSegmenter"/> with the default options and checks
/// that it cuts exactly where the sweep's rule does. Accuracy only; nothing here is timed.
/// <code>dotnet run --project bench/Omnivec.Bench -c Release -- scenecuts [--photos DIR] [--out DIR] [--thresholds 6,8,…] [--ratios 0,2,3,…] [--windows 1,2,…] [--reuse yes]</code>
/// </summary>
internal static class SceneCutBench
{
    private const int W = 640;
    private const int H = 360;
    private const int Fps = 30;
    private const double Tolerance = 0.25;

    /// <summary>A shot: a photo, its length, how the "camera" moves over it, and how close (1 = whole photo, 2 = a 2× close-up).</summary>
    private sealed record Shot(string Photo, double Sec, string Motion = "pan", double Zoom = 1);

    /// <summary>
    /// A generated video: its shots joined by <paramref name="Transition"/> ("cut", "dissolve" or "fadeblack" of
    /// <paramref name="TransitionSec"/>), an optional filter over the whole video, and encoder arguments.
    /// </summary>
    private sealed record Spec(string Name, string Category, Shot[] Shots, string Transition = "cut", double TransitionSec = 0,
        string? Post = null, string[]? Codec = null);

    /// <summary>A true transition: a hard cut has Start == End.</summary>
    private sealed record Truth(double Start, double End);

    private sealed record Scored(Spec Spec, Truth[] Truths, List<(double T, double Score)> Frames);

    private static readonly string[] Distinct =
    [
        "two_beagles.jpg", "bananas.jpg", "tomatoes.jpg", "astronaut.png", "kodak_red_door.png", "rocket_launchpad_night.jpg",
        "succulent_plants.jpg", "motel_sign.jpg", "espresso_cup.png", "navy_propeller_plane.jpg", "heather_flowers.jpg",
        "three_men_indoors.jpg", "city_street_from_car.jpg", "white_mug.jpg", "kodak_window_hibiscus.png", "yoga_pose_beach.jpg",
        "plumeria_flower.jpg", "restaurant_table.jpg", "puppies_on_road.jpg", "snowy_mountain_peak.jpg",
    ];

    private static Spec[] Specs()
    {
        double[] lengths = [2.0, 3.5, 1.5, 4.0, 2.5, 3.0];
        Shot[] Cycle(int start, int count, Func<int, double> seconds, string motion = "pan") =>
            Enumerable.Range(0, count).Select(i => new Shot(Distinct[(start + i) % Distinct.Length], seconds(i), motion)).ToArray();

        // Consecutive shots that look alike: two framings of one photo, and photos of the same kind (cats, grey
        // scans, beaches, fruit on white, blue skies).
        Shot[] similar =
        [
            new("two_beagles.jpg", 3), new("two_beagles.jpg", 3, Zoom: 2), new("puppies_on_road.jpg", 3),
            new("kitten_behind_bowl_wide.jpg", 3), new("tabby_cat_lying.jpg", 3), new("cat_chelsea.png", 3),
            new("cameraman_gray.png", 3), new("coins_gray.png", 3), new("motion_blurred_clock_gray.png", 3),
            new("beach_kitesurfing.jpg", 3), new("beach_sky_big_icc.jpg", 3), new("boardwalk_to_sea.jpg", 3),
            new("kodak_macaws.png", 3), new("kodak_macaws.png", 3, Zoom: 2.2), new("tomatoes.jpg", 3), new("bananas.jpg", 3),
            new("hotdog.jpg", 3), new("palm_trees_sky.jpg", 3), new("snowy_mountain_peak.jpg", 3),
            new("restaurant_table.jpg", 3), new("restaurant_table.jpg", 3, Zoom: 2),
        ];

        // Camera-like movement inside shots (every shot boundary is still a hard cut).
        Shot[] motion =
        [
            new("city_street_from_car.jpg", 6, "fastpan"), new("kodak_macaws.png", 6, "zoom"), new("three_men_indoors.jpg", 6, "shake"),
            new("white_mug.jpg", 6, "exposure"), new("succulent_plants.jpg", 6, "fastpan"), new("rocket_launchpad_night.jpg", 6, "zoom"),
            new("restaurant_table.jpg", 6, "shake"), new("yoga_pose_beach.jpg", 6, "exposure"),
            new("boardwalk_to_sea.jpg", 6, "panstop"), new("kodak_red_door.png", 6, "panstart"), new("puppies_on_road.jpg", 6, "panstop"),
        ];

        return
        [
            new("hard.mp4", "hard cuts", Cycle(0, 14, i => lengths[i % lengths.Length])),
            new("similar.mp4", "similar shots", similar),
            new("dissolve-1s.mp4", "dissolves", Cycle(3, 8, _ => 4.0), "dissolve", 1.0),
            new("dissolve-0.5s.mp4", "dissolves", Cycle(11, 8, _ => 3.0), "dissolve", 0.5),
            new("fadeblack-1s.mp4", "fades via black", Cycle(6, 8, _ => 4.0), "fadeblack", 1.0),
            new("motion.mp4", "pans, zooms, shake, exposure", motion),
            new("noisy.mp4", "noise + compression", Cycle(7, 12, i => lengths[(i + 2) % lengths.Length]),
                Post: "noise=alls=24:allf=t+u", Codec: ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "38", "-pix_fmt", "yuv420p"]),
            new("hard-lowrate.webm", "noise + compression", Cycle(2, 10, i => lengths[(i + 4) % lengths.Length]),
                Codec: ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "120k"]),
        ];
    }

    public static int Run(Args a)
    {
        string photos = a.Get("photos", Path.Combine("tests", "fixtures", "corpus", "images", "photos"));
        string outDir = a.Get("out", Path.Combine("bench", "out", "scenecuts"));
        double[] thresholds = Doubles(a.Get("thresholds", "4,6,8,10,12,15,18,21,24,27,30,35,40,50,60"));
        double[] ratios = Doubles(a.Get("ratios", "0,1.5,2,2.5,3,4,5"));
        int[] windows = [.. Doubles(a.Get("windows", "1,2,3,4,5,7")).Select(w => (int)w)];
        bool reuse = a.Get("reuse", "no") == "yes";
        if (!Directory.Exists(photos))
        {
            Console.Error.WriteLine($"no photos at {photos} (run from the repository root or pass --photos)");
            return 2;
        }

        Directory.CreateDirectory(outDir);
        var defaults = new VideoSegmenterOptions();
        var reader = new VideoReader();
        var scored = new List<Scored>();
        foreach (Spec spec in Specs())
        {
            string path = Path.Combine(outDir, spec.Name);
            Truth[] truths = Generate(spec, photos, path, reuse);
            scored.Add(new Scored(spec, truths, ScoreFrames(reader, path, defaults).GetAwaiter().GetResult()));
            File.WriteAllLines(Path.ChangeExtension(path, ".scores.tsv"),
                scored[^1].Frames.Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.T:0.###}\t{f.Score:0.##}")));
            Console.Error.WriteLine($"  {spec.Name}: {truths.Length} transitions, {scored[^1].Frames.Count} analysis frames");
        }

        // Every (window, ratio, threshold); a plain threshold (ratio 0) has no window.
        var rows = new List<Row>();
        foreach (bool eachSide in new[] { true, false })
        {
            foreach (int w in windows)
            {
                foreach (double ratio in ratios.Where(r => r > 0 || (w == windows[0] && eachSide)))
                {
                    foreach (double t in thresholds)
                    {
                        rows.Add(Evaluate(scored, ratio, t, ratio > 0 ? w : 0, defaults.MinShotSec, eachSide));
                    }
                }
            }
        }

        // The pick: among the rules that compare with the busier side (the other form cuts where a pan starts or stops; it
        // is reported for comparison), those within 0.02 of the best F1; of those the highest threshold, then the highest
        // ratio (fewer false cuts on footage unlike ours, such as encoder flicker on tiny videos), then the shortest window.
        double bestF1 = rows.Where(r => r.EachSide).Max(r => r.All.F1);
        Row best = rows.Where(r => r.EachSide && r.All.F1 >= bestF1 - 0.02)
            .OrderByDescending(r => r.Threshold).ThenByDescending(r => r.Ratio).ThenBy(r => r.Window).First();
        Row old = Evaluate(scored, 0, 27, 0, defaults.MinShotSec, true);
        Row current = Evaluate(scored, defaults.SceneRatio, defaults.SceneThreshold, defaults.SceneRatio > 0 ? VideoSegmenter.SceneWindow : 0, defaults.MinShotSec, true);
        string[] categories = scored.Select(s => s.Spec.Category).Distinct().ToArray();
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"{scored.Sum(s => s.Truths.Length)} true transitions in {scored.Count} videos ({scored.Sum(s => s.Frames.Count) / defaults.AnalysisFps:0} s); a cut counts when found within {Tolerance} s (of a gradual transition's span); analysis at {defaults.AnalysisFps} fps, short side {defaults.FrameShortSide} px, minimum shot {defaults.MinShotSec} s, neighbour window {VideoSegmenter.SceneWindow} frames.");
        md.AppendLine();
        md.AppendLine("Best threshold per neighbour window and ratio (ratio 0 = a plain threshold, the rule before this measurement):");
        md.AppendLine();
        md.AppendLine("| compared with | frames each side | ratio | best threshold | precision | recall | F1 | false cuts | missed |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var group in rows.GroupBy(x => (x.EachSide, x.Window, x.Ratio)))
        {
            Row r = group.OrderByDescending(x => Math.Round(x.All.F1, 3)).ThenByDescending(x => x.Threshold).First();
            md.AppendLine(CultureInfo.InvariantCulture, $"| {(r.Ratio == 0 ? "" : r.EachSide ? "busier side" : "both sides' mean")} | {r.Window} | {r.Ratio:0.##} | {r.Threshold:0.##} | {r.All.Precision:0.000} | {r.All.Recall:0.000} | {r.All.F1:0.000} | {r.All.FalsePositives} | {r.All.Missed} |");
        }

        foreach ((int window, double ratio, bool eachSide) in new[] { (0, 0.0, true), (best.Window, best.Ratio, best.EachSide) }.Distinct())
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Ratio {ratio:0.##}{(window > 0 ? $", {window} frames each side, {(eachSide ? "busier side" : "both sides' mean")}" : " (plain threshold)")}, every threshold:");
            md.AppendLine();
            md.AppendLine("| threshold | precision | recall | F1 | false cuts | missed | hard-cut position error mean / max (s) |");
            md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
            foreach (Row r in rows.Where(x => x.Ratio == ratio && x.Window == window && x.EachSide == eachSide))
            {
                string mark = r == best ? " **←**" : "";
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {r.Threshold:0.##}{mark} | {r.All.Precision:0.000} | {r.All.Recall:0.000} | {r.All.F1:0.000} | {r.All.FalsePositives} | {r.All.Missed} | {r.MeanErr:0.000} / {r.MaxErr:0.00} |");
            }
        }

        md.AppendLine();
        md.AppendLine("Found / true transitions and false cuts per kind of video:");
        md.AppendLine();
        md.AppendLine("| rule | " + string.Join(" | ", categories) + " |");
        md.AppendLine("|---|" + string.Concat(categories.Select(_ => "---:|")));
        foreach ((string label, Row r) in new[] { ("plain threshold 27 (before)", old), (string.Create(CultureInfo.InvariantCulture, $"threshold {best.Threshold:0.##}, ratio {best.Ratio:0.##}, {best.Window} each side, {(best.EachSide ? "busier side" : "both sides' mean")} (picked)"), best),
            (string.Create(CultureInfo.InvariantCulture, $"threshold {current.Threshold:0.##}, ratio {current.Ratio:0.##}, {current.Window} each side (the defaults)"), current) })
        {
            string cells = string.Join(" | ", categories.Select(c =>
                string.Create(CultureInfo.InvariantCulture, $"{r.ByCategory[c].Found}/{r.ByCategory[c].Total}, {r.ByCategory[c].FalsePositives} false")));
            md.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {cells} |");
        }

        // The real segmenter at the defaults must cut exactly where the sweep's rule did.
        var segmenter = new VideoSegmenter(defaults, reader);
        int mismatches = 0;
        foreach (Scored s in scored)
        {
            double[] expected = Cuts(s.Frames, defaults.SceneRatio, defaults.SceneThreshold, defaults.SceneRatio > 0 ? VideoSegmenter.SceneWindow : 0, defaults.MinShotSec, true);
            double[] actual = SegmentCuts(segmenter, Path.Combine(outDir, s.Spec.Name)).GetAwaiter().GetResult();
            if (!expected.SequenceEqual(actual))
            {
                mismatches++;
                Console.Error.WriteLine($"  segmenter differs on {s.Spec.Name}: sweep [{string.Join(", ", expected)}] vs segmenter [{string.Join(", ", actual)}]");
            }
        }

        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Best F1 {bestF1:0.000}; picked (highest threshold, then ratio, within 0.02 of it) threshold {best.Threshold:0.##}, ratio {best.Ratio:0.##}, {best.Window} frames each side, F1 {best.All.F1:0.000}; VideoSegmenter with the defaults (threshold {defaults.SceneThreshold:0.##}, ratio {defaults.SceneRatio:0.##}, {VideoSegmenter.SceneWindow} frames each side): {(mismatches == 0 ? "the same cuts as the sweep on every video" : $"{mismatches} videos differ")}.");
        Console.WriteLine(md.ToString());

        var json = new JsonObject
        {
            ["tolerance_sec"] = Tolerance,
            ["analysis_fps"] = defaults.AnalysisFps,
            ["min_shot_sec"] = defaults.MinShotSec,
            ["window"] = VideoSegmenter.SceneWindow,
            ["best"] = new JsonObject { ["threshold"] = best.Threshold, ["ratio"] = best.Ratio, ["window"] = best.Window, ["each_side"] = best.EachSide, ["f1"] = Math.Round(best.All.F1, 4) },
            ["segmenter_matches_sweep"] = mismatches == 0,
            ["videos"] = new JsonArray([.. scored.Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Spec.Name,
                ["category"] = s.Spec.Category,
                ["transitions"] = new JsonArray([.. s.Truths.Select(t => (JsonNode)new JsonArray(t.Start, t.End))]),
            })]),
            ["rows"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject
            {
                ["ratio"] = r.Ratio,
                ["window"] = r.Window,
                ["each_side"] = r.EachSide,
                ["threshold"] = r.Threshold,
                ["precision"] = Math.Round(r.All.Precision, 4),
                ["recall"] = Math.Round(r.All.Recall, 4),
                ["f1"] = Math.Round(r.All.F1, 4),
                ["false_cuts"] = r.All.FalsePositives,
                ["missed"] = r.All.Missed,
                ["per_category"] = new JsonObject(r.ByCategory.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)new JsonObject
                {
                    ["found"] = kv.Value.Found,
                    ["total"] = kv.Value.Total,
                    ["false_cuts"] = kv.Value.FalsePositives,
                }))),
            })]),
        };
        File.WriteAllText(Path.Combine(outDir, "results.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return mismatches == 0 ? 0 : 1;
    }

    private sealed record Row(bool EachSide, int Window, double Ratio, double Threshold, Dictionary<string, Counts> ByCategory, Counts All, double MeanErr, double MaxErr);

    private static Row Evaluate(List<Scored> scored, double ratio, double threshold, int window, double minShotSec, bool eachSide)
    {
        var byCategory = new Dictionary<string, Counts>(StringComparer.Ordinal);
        var all = new Counts();
        var errors = new List<double>();
        foreach (Scored s in scored)
        {
            double[] cuts = Cuts(s.Frames, ratio, threshold, window, minShotSec, eachSide);
            Counts c = Match(s.Truths, cuts, s.Spec.Transition == "cut" ? errors : null);
            byCategory[s.Spec.Category] = byCategory.TryGetValue(s.Spec.Category, out Counts? prev) ? prev + c : c;
            all += c;
        }

        return new Row(eachSide, window, ratio, threshold, byCategory, all, errors.Count > 0 ? errors.Average() : double.NaN, errors.Count > 0 ? errors.Max() : double.NaN);
    }

    private sealed record Counts(int Found = 0, int Total = 0, int FalsePositives = 0)
    {
        public int Missed => Total - Found;

        public double Precision => Found + FalsePositives == 0 ? 1 : (double)Found / (Found + FalsePositives);

        public double Recall => Total == 0 ? 1 : (double)Found / Total;

        public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);

        public static Counts operator +(Counts x, Counts y) => new(x.Found + y.Found, x.Total + y.Total, x.FalsePositives + y.FalsePositives);
    }

    /// <summary>The cuts the segmenter's rule makes from these scores.</summary>
    private static double[] Cuts(List<(double T, double Score)> frames, double ratio, double threshold, int window, double minShotSec, bool eachSide)
    {
        var rule = new CutRule<int>(threshold, ratio, window, minShotSec, eachSide);
        var decided = new List<(int Item, double Time, bool Cut)>();
        foreach ((double t, double score) in frames)
        {
            rule.Push(0, t, score, decided);
        }

        rule.Flush(decided);
        return [.. decided.Where(d => d.Cut).Select(d => d.Time)];
    }

    /// <summary>One-to-one matching in time order: a detection matches the first unmatched transition whose span (± tolerance) holds it.</summary>
    private static Counts Match(Truth[] truths, double[] cuts, List<double>? errors)
    {
        var used = new bool[truths.Length];
        int found = 0, falsePositives = 0;
        foreach (double c in cuts)
        {
            int hit = -1;
            for (int i = 0; i < truths.Length; i++)
            {
                if (!used[i] && c >= truths[i].Start - Tolerance && c <= truths[i].End + Tolerance)
                {
                    hit = i;
                    break;
                }
            }

            if (hit < 0)
            {
                falsePositives++;
                continue;
            }

            used[hit] = true;
            found++;
            errors?.Add(Math.Abs(c - truths[hit].Start));
        }

        return new Counts(found, truths.Length, falsePositives);
    }

    private static async Task<List<(double T, double Score)>> ScoreFrames(VideoReader reader, string path, VideoSegmenterOptions options)
    {
        VideoInfo info = await reader.ProbeAsync(path).ConfigureAwait(false);
        double fps = info.FrameRate > 0 ? Math.Min(options.AnalysisFps, info.FrameRate) : options.AnalysisFps;
        var detector = new ContentDetector();
        var frames = new List<(double, double)>();
        await foreach (VideoFrame frame in reader.ReadFramesAsync(path, info, fps, options.FrameShortSide).ConfigureAwait(false))
        {
            using (frame)
            {
                frames.Add((frame.TimestampSec, detector.Score(frame.Image)));
            }
        }

        return frames;
    }

    private static async Task<double[]> SegmentCuts(VideoSegmenter segmenter, string path)
    {
        var cuts = new List<double>();
        await foreach (VideoSegment segment in segmenter.SegmentAsync(path).ConfigureAwait(false))
        {
            using (segment)
            {
                if (segment.StartsAtCut)
                {
                    cuts.Add(segment.StartSec);
                }
            }
        }

        return [.. cuts];
    }

    /// <summary>Writes the video with ffmpeg and returns its true transitions.</summary>
    private static Truth[] Generate(Spec spec, string photos, string output, bool reuse)
    {
        var args = new List<string> { "-nostdin", "-v", "error", "-y" };
        foreach (Shot shot in spec.Shots)
        {
            args.AddRange(["-loop", "1", "-framerate", I(Fps), "-t", F(shot.Sec), "-i", Path.Combine(photos, shot.Photo)]);
        }

        var graph = new List<string>();
        for (int i = 0; i < spec.Shots.Length; i++)
        {
            graph.Add($"[{i}:v]{ShotFilter(spec.Shots[i])},setsar=1,fps={Fps},format=yuv420p,settb=1/{Fps}[v{i}]");
        }

        var truths = new List<Truth>();
        string last;
        if (spec.Transition == "cut")
        {
            graph.Add(string.Concat(Enumerable.Range(0, spec.Shots.Length).Select(i => $"[v{i}]")) + $"concat=n={spec.Shots.Length}:v=1:a=0[joined]");
            double t = 0;
            for (int i = 0; i < spec.Shots.Length - 1; i++)
            {
                t += spec.Shots[i].Sec;
                truths.Add(new Truth(t, t));
            }
        }
        else
        {
            // xfade chain: transition k starts where the joined stream so far ends, minus the transition.
            double d = spec.TransitionSec;
            double length = spec.Shots[0].Sec;
            last = "v0";
            for (int i = 1; i < spec.Shots.Length; i++)
            {
                double offset = length - d;
                string next = i == spec.Shots.Length - 1 ? "joined" : $"x{i}";
                graph.Add($"[{last}][v{i}]xfade=transition={spec.Transition}:duration={F(d)}:offset={F(offset)}[{next}]");
                truths.Add(new Truth(offset, offset + d));
                length += spec.Shots[i].Sec - d;
                last = next;
            }
        }

        graph.Add(spec.Post is null ? "[joined]null[out]" : $"[joined]{spec.Post}[out]");
        args.AddRange(["-filter_complex", string.Join(';', graph), "-map", "[out]"]);
        args.AddRange(spec.Codec ?? ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p"]);
        args.Add(output);
        if (!reuse || !File.Exists(output))
        {
            Ffmpeg.Run(args);
        }

        return [.. truths];
    }

    /// <summary>How the "camera" moves over one photo.</summary>
    private static string ShotFilter(Shot shot)
    {
        // Cover a frame larger than the output, then move inside it.
        string Cover(double factor) =>
            $"scale={I((int)(W * factor))}:{I((int)(H * factor))}:force_original_aspect_ratio=increase,crop={I((int)(W * factor))}:{I((int)(H * factor))}";
        double z = 1.25 * shot.Zoom;
        return shot.Motion switch
        {
            // Slow pan, 12 px/s right and 8 px/s down, from the centre of a close-up or from the corner of the whole photo.
            "pan" when shot.Zoom > 1 => $"{Cover(z)},crop={W}:{H}:'min(iw-{W},(iw-{W})/2+t*12)':'min(ih-{H},(ih-{H})/2+t*8)'",
            "pan" => $"{Cover(z)},crop={W}:{H}:'min(iw-{W},t*12)':'min(ih-{H},t*8)'",
            // A fast pan: 140 px/s (a fifth of the frame width per second), 14 px between analysis frames.
            "fastpan" => $"{Cover(2.2)},crop={W}:{H}:'min(iw-{W},t*140)':'(ih-{H})/2'",
            // A fast pan that stops at 2.5 s, and one that starts at 2.5 s.
            "panstop" => $"{Cover(2.2)},crop={W}:{H}:'min(t,2.5)*140':'(ih-{H})/2'",
            "panstart" => $"{Cover(2.2)},crop={W}:{H}:'max(0,t-2.5)*140':'(ih-{H})/2'",
            // Zoom in from the whole photo to 1.8× over 6 s.
            "zoom" => $"{Cover(2)},zoompan=z='min(1+0.8*in/{I(6 * Fps)},1.8)':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s={W}x{H}:fps={Fps}",
            // Handheld shake: two sines, up to ±34 px horizontally and ±22 px vertically.
            "shake" => $"{Cover(1.25)},crop={W}:{H}:'(iw-{W})/2+24*sin(2*PI*t*1.7)+10*sin(2*PI*t*4.3)':'(ih-{H})/2+14*sin(2*PI*t*2.1)+8*sin(2*PI*t*5.3)'",
            // A light switched on: brightness +0.3 over 0.3 s at 3 s (not a cut).
            "exposure" => $"{Cover(1.25)},crop={W}:{H}:'min(iw-{W},t*12)':'min(ih-{H},t*8)',eq=brightness='0.3*min(1,max(0,(t-3)/0.3))':eval=frame",
            _ => throw new ArgumentException($"unknown motion {shot.Motion}"),
        };
    }

    private static double[] Doubles(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    private static string F(double value) => Ffmpeg.Number(value);

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
