using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace Omnivec.Bench;

/// <summary>
/// One ONNX Runtime session load in this (fresh) process, for the cold-start breakdown: how long creating the text
/// tower's session takes with a given set of options, and its first runs. Run it once per process, alternating
/// variants (see docs/benchmarks.md, "Cold start: where the time goes").
///   sessionload --model FILE --variant all|basic|extended|none|noprepack|saved-all|saved-extended|saved-ort|saved-ort-mmap|saved-ext|saved-ext-prepacked [--cache DIR] [--threads 2] [--spin 0|1]
/// The saved-* variants write the optimized model into --cache on their first call and load it from there after.
/// Prints one line: variant, create ms (wall and CPU), first run ms, second run ms.
/// </summary>
internal static class SessionLoadBench
{
    public static int Run(Args a)
    {
        string model = a.Get("model");
        string variant = a.Get("variant", "all");
        string cache = a.Get("cache", Path.Combine(Path.GetTempPath(), "omnivec-sessionload"));
        int threads = a.Int("threads", 2);
        Directory.CreateDirectory(cache);

        using var options = new SessionOptions
        {
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = variant switch
            {
                "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                "none" => GraphOptimizationLevel.ORT_DISABLE_ALL,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
        };
        if (a.Get("spin", "1") == "0")
        {
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        if (variant == "noprepack")
        {
            options.AddSessionConfigEntry("session.disable_prepacking", "1");
        }

        string path = model;
        if (variant.StartsWith("saved-", StringComparison.Ordinal))
        {
            bool ort = variant.StartsWith("saved-ort", StringComparison.Ordinal);
            bool external = variant.StartsWith("saved-ext", StringComparison.Ordinal);
            string saved = Path.Combine(cache, variant + (ort ? ".ort" : ".onnx"));
            if (File.Exists(saved))
            {
                path = saved;
                options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
                if (variant == "saved-ort-mmap")
                {
                    options.AddSessionConfigEntry("session.use_memory_mapped_ort_model", "1");
                    options.AddSessionConfigEntry("session.use_ort_model_bytes_for_initializers", "1");
                }
            }
            else
            {
                options.GraphOptimizationLevel = variant == "saved-extended" ? GraphOptimizationLevel.ORT_ENABLE_EXTENDED : GraphOptimizationLevel.ORT_ENABLE_ALL;
                options.OptimizedModelFilePath = saved;
                if (ort)
                {
                    options.AddSessionConfigEntry("session.save_model_format", "ORT");
                }

                if (external)
                {
                    // Weights in a side file whose large tensors start at aligned offsets, so the load maps them instead of copying.
                    options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", variant + ".data");
                    options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
                    if (variant == "saved-ext-prepacked")
                    {
                        options.AddSessionConfigEntry("session.save_external_prepacked_constant_initializers", "1");
                    }
                }
            }
        }

        // CPU time as well as wall time: on a shared machine the CPU time of a single-threaded load moves less.
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        using var session = new InferenceSession(path, options);
        double create = clock.Elapsed.TotalMilliseconds;
        double createCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
        double first = RunOnce(session), second = RunOnce(session);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{variant} {(path == model ? "source" : "saved")} create_ms {create:F1} create_cpu_ms {createCpu:F1} run1_ms {first:F1} run2_ms {second:F1}"));
        return 0;
    }

    private static double RunOnce(InferenceSession session)
    {
        // "a photo of a dog on the beach" is 9 tokens with its start and end marks; the CLI trims the run to that width.
        long[] ids = [49406, 320, 1125, 539, 320, 1929, 525, 518, 2117, 49407];
        long[] mask = new long[ids.Length];
        Array.Fill(mask, 1L);
        long[] shape = [1, ids.Length];
        var clock = Stopwatch.StartNew();
        using var input = OrtValue.CreateTensorValueFromMemory(ids, shape);
        var inputs = new Dictionary<string, OrtValue> { ["input_ids"] = input };
        using OrtValue? maskValue = session.InputMetadata.ContainsKey("attention_mask") ? OrtValue.CreateTensorValueFromMemory(mask, shape) : null;
        if (maskValue is not null)
        {
            inputs["attention_mask"] = maskValue;
        }

        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, inputs, [session.OutputMetadata.Keys.First()]);
        return clock.Elapsed.TotalMilliseconds;
    }
}
