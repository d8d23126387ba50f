using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.AI;

namespace Omnivec;

/// <summary>
/// Coalesces concurrent calls into one call of the inner generator: a model run over 32 inputs costs far less than 32 runs
/// of one. Calls are queued; a single consumer waits up to <c>batchWindow</c> after the first arrival (or until
/// <c>maxBatchSize</c> inputs are queued), runs the inner generator once and hands every caller its own slice.
/// </summary>
/// <remarks>
/// If a merged batch fails, each of its calls is retried on its own, so one bad input fails only the request that sent it.
/// A caller that cancels stops waiting; the batch it joined still runs for the others. Calls with
/// <see cref="EmbeddingGenerationOptions"/> bypass the queue, since different options cannot share a model run.
/// <see cref="IDisposable.Dispose"/> stops accepting calls, finishes the queued ones, then disposes the inner generator.
/// </remarks>
public sealed class BatchingEmbeddingGenerator<TInput> : DelegatingEmbeddingGenerator<TInput, Embedding<float>>
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int _maxBatchSize;
    private readonly TimeSpan _batchWindow;
    private readonly Task _consumer;
    private int _disposed;
    private static readonly KeyValuePair<string, object?> s_modalityTag = new("omnivec.modality", CoreTelemetry.Modality<TInput>());

    /// <param name="innerGenerator">The generator that does the work; owned (disposed) by this instance.</param>
    /// <param name="maxBatchSize">Most inputs merged into one inner call (a single larger call still runs alone).</param>
    /// <param name="batchWindow">How long to wait for more calls after the first one arrives.</param>
    public BatchingEmbeddingGenerator(IEmbeddingGenerator<TInput, Embedding<float>> innerGenerator, int maxBatchSize = 32, TimeSpan? batchWindow = null)
        : base(innerGenerator)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatchSize);
        TimeSpan window = batchWindow ?? TimeSpan.FromMilliseconds(4);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.Zero);
        _maxBatchSize = maxBatchSize;
        _batchWindow = window;
        _consumer = Task.Run(ConsumeAsync);
    }

    /// <summary>Largest number of inputs merged into one inner call.</summary>
    public int MaxBatchSize => _maxBatchSize;

    /// <summary>How long the consumer waits for more calls after the first arrival.</summary>
    public TimeSpan BatchWindow => _batchWindow;

    /// <inheritdoc />
    public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<TInput> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (options is not null)
        {
            return await base.GenerateAsync(values, options, cancellationToken).ConfigureAwait(false);
        }

        TInput[] inputs = values as TInput[] ?? values.ToArray();
        if (inputs.Length == 0)
        {
            return [];
        }

        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(inputs, cancellationToken);
        if (CoreTelemetry.QueueDepth.Enabled)
        {
            // Counted before it is queued, so the consumer cannot take it off the depth before it was added.
            pending.Counted = true;
            CoreTelemetry.QueueDepth.Add(inputs.Length, s_modalityTag);
        }

        if (!_queue.Writer.TryWrite(pending))
        {
            if (pending.Counted)
            {
                CoreTelemetry.QueueDepth.Add(-inputs.Length, s_modalityTag);
            }

            throw new ObjectDisposedException(GetType().FullName);
        }

        // Only this caller stops waiting; the batch it is part of carries on for the others.
        return await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ConsumeAsync()
    {
        var batch = new List<Pending>();
        Pending? carried = null;
        ChannelReader<Pending> reader = _queue.Reader;
        while (true)
        {
            if (carried is null)
            {
                if (!await reader.WaitToReadAsync().ConfigureAwait(false))
                {
                    return;
                }

                if (!reader.TryRead(out carried))
                {
                    continue;
                }
            }

            batch.Clear();
            batch.Add(carried);
            int count = carried.Inputs.Length;
            carried = null;
            long deadline = Stopwatch.GetTimestamp() + (long)(_batchWindow.TotalSeconds * Stopwatch.Frequency);
            while (count < _maxBatchSize)
            {
                if (reader.TryRead(out Pending? next))
                {
                    if (count + next.Inputs.Length > _maxBatchSize)
                    {
                        carried = next; // goes first in the next batch, keeping arrival order
                        break;
                    }

                    batch.Add(next);
                    count += next.Inputs.Length;
                    continue;
                }

                TimeSpan remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero || !await WaitForMoreAsync(reader, remaining).ConfigureAwait(false))
                {
                    break;
                }
            }

            await RunAsync(batch).ConfigureAwait(false);
        }
    }

    /// <summary>True when another call arrived within <paramref name="timeout"/>.</summary>
    private static async Task<bool> WaitForMoreAsync(ChannelReader<Pending> reader, TimeSpan timeout)
    {
        using var timer = new CancellationTokenSource(timeout);
        try
        {
            return await reader.WaitToReadAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task RunAsync(List<Pending> batch)
    {
        foreach (Pending p in batch)
        {
            if (p.Counted)
            {
                CoreTelemetry.QueueDepth.Add(-p.Inputs.Length, s_modalityTag);
            }
        }

        // Callers that gave up before the run starts are dropped so the model does not work for nobody.
        batch.RemoveAll(p => p.CancellationToken.IsCancellationRequested && p.Completion.TrySetCanceled(p.CancellationToken));
        if (batch.Count == 0)
        {
            return;
        }

        if (CoreTelemetry.BatchSize.Enabled)
        {
            CoreTelemetry.BatchSize.Record(batch.Sum(p => p.Inputs.Length), s_modalityTag);
        }

        if (batch.Count == 1)
        {
            await RunOneAsync(batch[0]).ConfigureAwait(false);
            return;
        }

        var all = new List<TInput>(batch.Sum(p => p.Inputs.Length));
        foreach (Pending p in batch)
        {
            all.AddRange(p.Inputs);
        }

        GeneratedEmbeddings<Embedding<float>> merged;
        try
        {
            merged = await InnerGenerator.GenerateAsync(all, null, CancellationToken.None).ConfigureAwait(false);
            if (merged.Count != all.Count)
            {
                throw new InvalidOperationException($"The inner generator returned {merged.Count} embeddings for {all.Count} inputs.");
            }
        }
#pragma warning disable CA1031 // any failure of the merged run is retried per call, where it is reported to its caller
        catch (Exception)
#pragma warning restore CA1031
        {
            // Someone's input broke the merged run: retry each call alone so only its own caller sees the error.
            foreach (Pending p in batch)
            {
                await RunOneAsync(p).ConfigureAwait(false);
            }

            return;
        }

        int offset = 0;
        foreach (Pending p in batch)
        {
            var slice = new GeneratedEmbeddings<Embedding<float>>(p.Inputs.Length);
            for (int i = 0; i < p.Inputs.Length; i++)
            {
                slice.Add(merged[offset + i]);
            }

            offset += p.Inputs.Length;
            p.Completion.TrySetResult(slice);
        }
    }

    private async Task RunOneAsync(Pending pending)
    {
        try
        {
            // A run for one caller alone stops when that caller gives up (a merged run carries on for the others).
            GeneratedEmbeddings<Embedding<float>> result = await InnerGenerator.GenerateAsync(pending.Inputs, null, pending.CancellationToken).ConfigureAwait(false);
            pending.Completion.TrySetResult(result);
        }
#pragma warning disable CA1031 // handed to the caller, not swallowed
        catch (Exception e)
#pragma warning restore CA1031
        {
            pending.Completion.TrySetException(e);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (disposing)
        {
            _queue.Writer.TryComplete();
            // Drain: every call already queued gets its answer before the inner generator goes away.
            _consumer.GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    private sealed class Pending(TInput[] inputs, CancellationToken cancellationToken)
    {
        public TInput[] Inputs { get; } = inputs;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        /// <summary>Whether the inputs were added to the queue-depth counter (so they are taken off it exactly once).</summary>
        public bool Counted { get; set; }

        public TaskCompletionSource<GeneratedEmbeddings<Embedding<float>>> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
