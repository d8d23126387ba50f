using System.Buffers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Omnivec.Onnx;

internal enum TowerKind
{
    Text,
    Vision,
    Audio,
}

/// <summary>
/// One ONNX session for one tower of a CLIP model, with its input/output names and types discovered from the
/// session metadata. Runs are serialised: a run already uses every intra-op thread, so overlapping runs would only
/// oversubscribe the cores; callers batch instead.
/// </summary>
internal sealed class OnnxTower : IDisposable
{
    private static readonly string[] s_textInputNames = ["input_ids", "text", "input"];
    private static readonly string[] s_visionInputNames = ["pixel_values", "image", "input", "images"];
    private static readonly string[] s_textOutputNames = ["text_embeds", "embedding", "embeddings", "text_embedding", "pooler_output"];
    private static readonly string[] s_visionOutputNames = ["image_embeds", "embedding", "embeddings", "image_embedding", "pooler_output"];
    private static readonly string[] s_audioInputNames = ["input_features"];
    private static readonly string[] s_audioOutputNames = ["audio_embeds", "embedding", "embeddings", "audio_embedding", "pooler_output"];

    private readonly InferenceSession _session;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string[] _outputNames;

    private OnnxTower(InferenceSession session, TowerKind kind, string path)
    {
        _session = session;
        Kind = kind;
        Path = path;

        IReadOnlyDictionary<string, NodeMetadata> inputs = session.InputMetadata;
        InputName = Pick(inputs, kind switch { TowerKind.Text => s_textInputNames, TowerKind.Audio => s_audioInputNames, _ => s_visionInputNames })
            ?? inputs.FirstOrDefault(i => i.Value.IsTensor && i.Value.Dimensions.Length == (kind == TowerKind.Text ? 2 : 4)).Key
            ?? throw new ModelConfigurationException($"{path}: no {kind switch { TowerKind.Text => "token id", TowerKind.Audio => "audio feature", _ => "pixel" }} input among [{string.Join(", ", inputs.Keys)}].");
        NodeMetadata input = inputs[InputName];
        InputType = input.ElementDataType;
        int[] dims = input.Dimensions;
        FixedBatch = dims.Length > 0 && dims[0] > 0 ? dims[0] : 0;

        if (kind == TowerKind.Text)
        {
            if (InputType is not (TensorElementType.Int64 or TensorElementType.Int32))
            {
                throw new ModelConfigurationException($"{path}: text input '{InputName}' is {InputType}; expected int64 or int32 token ids.");
            }

            FixedSequenceLength = dims.Length == 2 && dims[1] > 0 ? dims[1] : 0;
            MaskName = inputs.Keys.FirstOrDefault(k => k == "attention_mask");
            if (MaskName is not null && inputs[MaskName].ElementDataType is not (TensorElementType.Int64 or TensorElementType.Int32))
            {
                throw new ModelConfigurationException($"{path}: attention_mask is {inputs[MaskName].ElementDataType}; expected int64 or int32.");
            }

            string[] unknown = inputs.Keys.Where(k => k != InputName && k != MaskName).ToArray();
            if (unknown.Length > 0)
            {
                throw new ModelConfigurationException($"{path}: unexpected text-model inputs [{string.Join(", ", unknown)}]; supported are input_ids/text and attention_mask.");
            }
        }
        else if (kind == TowerKind.Audio)
        {
            if (InputType is not (TensorElementType.Float or TensorElementType.Float16) || dims.Length != 4)
            {
                throw new ModelConfigurationException($"{path}: audio input '{InputName}' is {InputType} of rank {dims.Length}; expected float [batch, 1, frames, mel bands].");
            }

            if (inputs.Count != 1)
            {
                throw new ModelConfigurationException(inputs.ContainsKey("is_longer")
                    ? $"{path}: the audio model takes is_longer: a fusion CLAP, which Omnivec does not implement; use an unfused pack such as Xenova/clap-htsat-unfused."
                    : $"{path}: unexpected audio-model inputs [{string.Join(", ", inputs.Keys)}].");
            }

            if (dims[1] > 1)
            {
                throw new ModelConfigurationException($"{path}: the audio model takes {dims[1]} feature channels (the fusion variant); only unfused CLAP (1 channel) is implemented.");
            }

            ImageHeight = dims[2];
            ImageWidth = dims[3];
        }
        else
        {
            if (InputType is not (TensorElementType.Float or TensorElementType.Float16))
            {
                throw new ModelConfigurationException($"{path}: pixel input '{InputName}' is {InputType}; expected float32 or float16.");
            }

            if (dims.Length != 4)
            {
                throw new ModelConfigurationException($"{path}: pixel input '{InputName}' has rank {dims.Length}; expected [batch, 3, height, width].");
            }

            ImageHeight = dims[2];
            ImageWidth = dims[3];
            if (inputs.Count != 1)
            {
                throw new ModelConfigurationException($"{path}: unexpected vision-model inputs [{string.Join(", ", inputs.Keys)}].");
            }
        }

        IReadOnlyDictionary<string, NodeMetadata> outputs = session.OutputMetadata;
        string[] outputNames = kind switch { TowerKind.Text => s_textOutputNames, TowerKind.Audio => s_audioOutputNames, _ => s_visionOutputNames };
        OutputName = Pick(outputs, outputNames)
            ?? (outputs.Count == 1 ? outputs.Keys.First() : null)
            ?? throw new ModelConfigurationException($"{path}: cannot tell which output is the embedding among [{string.Join(", ", outputs.Keys)}]; expected one of [{string.Join(", ", outputNames)}].");
        NodeMetadata output = outputs[OutputName];
        OutputType = output.ElementDataType;
        if (OutputType is not (TensorElementType.Float or TensorElementType.Float16))
        {
            throw new ModelConfigurationException($"{path}: output '{OutputName}' is {OutputType}; expected float32 or float16.");
        }

        Dimensions = output.Dimensions.Length > 0 && output.Dimensions[^1] > 0 ? output.Dimensions[^1] : 0;
        _outputNames = [OutputName];
    }

    public TowerKind Kind { get; }
    public string Path { get; }
    public string InputName { get; }
    public TensorElementType InputType { get; }
    public string? MaskName { get; }
    public string OutputName { get; }
    public TensorElementType OutputType { get; }

    /// <summary>Batch size the graph is fixed to (Immich exports use 1), or 0 when dynamic.</summary>
    public int FixedBatch { get; }

    /// <summary>Token count the graph is fixed to, or 0 when dynamic.</summary>
    public int FixedSequenceLength { get; }

    /// <summary>Pixel height/width the graph is fixed to, or ≤ 0 when dynamic.</summary>
    public int ImageHeight { get; }
    public int ImageWidth { get; }

    /// <summary>Embedding length, or 0 until known (dynamic output shape).</summary>
    public int Dimensions { get; private set; }

    /// <summary>What the optimized-model cache did when this tower's session was created.</summary>
    internal OptimizedModelCache.Outcome CacheOutcome { get; private set; }

    /// <summary>The optimized-model cache entry of this tower's model, where facts learnt at load can be kept; null without one.</summary>
    internal string? CacheEntry { get; private set; }

    public static OnnxTower Load(string path, TowerKind kind, OnnxModelOptions modelOptions)
    {
        if (!File.Exists(path))
        {
            throw new ModelConfigurationException($"Model file not found: {path}");
        }

        int intraOpThreads = modelOptions.IntraOpThreads;
        void Configure(SessionOptions options)
        {
            options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
            options.IntraOpNumThreads = intraOpThreads > 0 ? intraOpThreads : Environment.ProcessorCount;
            options.InterOpNumThreads = 1;
            // Idle worker threads sleep instead of spinning: spinning burns CPU that FFmpeg's decoder, the image decoders
            // and other processes need (video indexing: 4.4-4.6 instead of 6.2-6.8 CPU-s of .NET for the 120 s bench
            // video; docs/benchmarks.md section 6). Threads, kernels and so the vectors are the same either way.
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        InferenceSession session;
        OptimizedModelCache.Outcome outcome;
        string? entry;
        using System.Diagnostics.Activity? activity = OnnxTelemetry.Source.StartActivity("omnivec.model.load");
        activity?.SetTag("omnivec.tower", OnnxTelemetry.TowerName(kind));
        try
        {
            session = OptimizedModelCache.CreateSession(path, modelOptions.OptimizedModelCacheDirectory, Configure, modelOptions.PrepackWeights, out outcome, out entry);
            activity?.SetTag("omnivec.model.cache", outcome.ToString().ToLowerInvariant());
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelConfigurationException($"{path}: ONNX Runtime cannot load this model: {ex.Message}", ex);
        }

        try
        {
            return new OnnxTower(session, kind, path) { CacheOutcome = outcome, CacheEntry = entry };
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Runs the text tower on <paramref name="batch"/> rows of <paramref name="sequenceLength"/> ids.</summary>
    public void RunText(ReadOnlySpan<long> ids, ReadOnlySpan<int> lengths, int batch, int sequenceLength, Span<float> destination, CancellationToken cancellationToken)
    {
        int count = batch * sequenceLength;
        long[] shape = [batch, sequenceLength];
        var inputs = new List<OrtValue>(2);
        var names = new List<string>(2) { InputName };
        var rented = new List<Array>(2);
        try
        {
            inputs.Add(CreateIntTensor(ids, InputType, shape, rented));
            if (MaskName is not null)
            {
                long[] mask = ArrayPool<long>.Shared.Rent(count);
                rented.Add(mask);
                for (int b = 0; b < batch; b++)
                {
                    Span<long> row = mask.AsSpan(b * sequenceLength, sequenceLength);
                    row[..lengths[b]].Fill(1);
                    row[lengths[b]..].Clear();
                }

                names.Add(MaskName);
                inputs.Add(CreateIntTensor(mask.AsSpan(0, count), _session.InputMetadata[MaskName].ElementDataType, shape, rented));
            }

            Run(names, inputs, batch, destination, cancellationToken);
        }
        finally
        {
            foreach (OrtValue value in inputs)
            {
                value.Dispose();
            }

            ReturnAll(rented);
        }
    }

    /// <summary>Runs the vision tower on <paramref name="batch"/> preprocessed images (NCHW float32).</summary>
    public void RunVision(float[] pixels, int batch, int height, int width, Span<float> destination, CancellationToken cancellationToken) =>
        RunDense(pixels, [batch, 3, height, width], destination, cancellationToken);

    /// <summary>Runs the audio tower on <paramref name="batch"/> feature maps of [1, frames, mel bands] each.</summary>
    public void RunAudio(float[] features, int batch, int frames, int bands, Span<float> destination, CancellationToken cancellationToken) =>
        RunDense(features, [batch, 1, frames, bands], destination, cancellationToken);

    private void RunDense(float[] pixels, long[] shape, Span<float> destination, CancellationToken cancellationToken)
    {
        int batch = (int)shape[0];
        int count = (int)(shape[0] * shape[1] * shape[2] * shape[3]);
        var rented = new List<Array>(1);
        OrtValue input;
        if (InputType == TensorElementType.Float16)
        {
            var half = ArrayPool<Float16>.Shared.Rent(count);
            rented.Add(half);
            for (int i = 0; i < count; i++)
            {
                half[i] = (Float16)pixels[i];
            }

            input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, half.AsMemory(0, count), shape);
        }
        else
        {
            input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, pixels.AsMemory(0, count), shape);
        }

        try
        {
            Run([InputName], [input], batch, destination, cancellationToken);
        }
        finally
        {
            input.Dispose();
            ReturnAll(rented);
        }
    }

    private void Run(IReadOnlyCollection<string> names, IReadOnlyCollection<OrtValue> inputs, int batch, Span<float> destination, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // A failed run becomes a typed error with ONNX Runtime's message; its own console log of the failure would only
        // repeat it (and the load-time trim probe expects some graphs to fail).
        using var runOptions = new RunOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        // ORT checks Terminate between kernels, so a cancelled run stops within one layer.
        using CancellationTokenRegistration registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        _gate.Wait(cancellationToken);
        // Timed after the gate: the run itself, not the wait for another run of this tower.
        bool timed = OnnxTelemetry.RunDuration.Enabled;
        long started = timed ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        using System.Diagnostics.Activity? activity = OnnxTelemetry.Source.StartActivity("omnivec.model.run");
        activity?.SetTag("omnivec.tower", OnnxTelemetry.TowerName(Kind));
        activity?.SetTag("omnivec.batch.size", batch);
        try
        {
            using IDisposableReadOnlyCollection<OrtValue> results = _session.Run(runOptions, names, inputs, _outputNames);
            OrtValue output = results[0];
            long[] outShape = output.GetTensorTypeAndShape().Shape;
            int dims = (int)outShape[^1];
            if (outShape.Length < 2 || outShape[0] != batch || dims <= 0)
            {
                throw new ModelConfigurationException($"{Path}: output '{OutputName}' has shape [{string.Join(", ", outShape)}]; expected [{batch}, dimensions].");
            }

            if (Dimensions == 0)
            {
                Dimensions = dims;
            }

            if (destination.Length < batch * dims)
            {
                throw new InvalidOperationException($"Destination holds {destination.Length} floats; the run produced {batch * dims}.");
            }

            if (OutputType == TensorElementType.Float16)
            {
                ReadOnlySpan<Float16> data = output.GetTensorDataAsSpan<Float16>();
                for (int i = 0; i < batch * dims; i++)
                {
                    destination[i] = (float)data[i];
                }
            }
            else
            {
                output.GetTensorDataAsSpan<float>()[..(batch * dims)].CopyTo(destination);
            }
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OnnxRuntimeException ex)
        {
            OnnxTelemetry.Fail(activity, ex);
            // A graph that loads but cannot run on the inputs its own metadata allows is a model fault, not a bug here.
            throw new ModelConfigurationException($"{Path}: ONNX Runtime cannot run this model: {ex.Message}", ex);
        }
        finally
        {
            _gate.Release();
            if (timed)
            {
                var tower = new KeyValuePair<string, object?>("omnivec.tower", OnnxTelemetry.TowerName(Kind));
                OnnxTelemetry.RunDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, tower);
                OnnxTelemetry.BatchSize.Record(batch, tower);
            }
        }
    }

    private static OrtValue CreateIntTensor(ReadOnlySpan<long> values, TensorElementType type, long[] shape, List<Array> rented)
    {
        if (type == TensorElementType.Int64)
        {
            long[] buffer = ArrayPool<long>.Shared.Rent(values.Length);
            rented.Add(buffer);
            values.CopyTo(buffer);
            return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(0, values.Length), shape);
        }

        int[] ints = ArrayPool<int>.Shared.Rent(values.Length);
        rented.Add(ints);
        for (int i = 0; i < values.Length; i++)
        {
            ints[i] = checked((int)values[i]);
        }

        return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ints.AsMemory(0, values.Length), shape);
    }

    private static void ReturnAll(List<Array> rented)
    {
        foreach (Array array in rented)
        {
            switch (array)
            {
                case long[] l: ArrayPool<long>.Shared.Return(l); break;
                case int[] i: ArrayPool<int>.Shared.Return(i); break;
                case Float16[] h: ArrayPool<Float16>.Shared.Return(h); break;
            }
        }
    }

    private static string? Pick(IReadOnlyDictionary<string, NodeMetadata> nodes, string[] preferred)
    {
        foreach (string name in preferred)
        {
            if (nodes.ContainsKey(name))
            {
                return name;
            }
        }

        return null;
    }

    public void Dispose()
    {
        _session.Dispose();
        _gate.Dispose();
    }
}
