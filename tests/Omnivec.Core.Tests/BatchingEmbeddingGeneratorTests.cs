using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace Omnivec.Core.Tests;

public sealed class BatchingEmbeddingGeneratorTests
{
    /// <summary>Embeds "n" as [n]; records each call's size; fails any call containing "bad"; can be held at a gate.</summary>
    private sealed class FakeGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        public ConcurrentQueue<int> BatchSizes { get; } = new();
        public TaskCompletionSource? Gate { get; set; }
        public bool Disposed { get; private set; }

        public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
            CancellationToken cancellationToken = default)
        {
            string[] inputs = values.ToArray();
            BatchSizes.Enqueue(inputs.Length);
            if (Gate is { } gate)
            {
                await gate.Task;
            }

            if (inputs.Contains("bad"))
            {
                throw new InvalidInputException("bad input");
            }

            return new GeneratedEmbeddings<Embedding<float>>(inputs.Select(v => new Embedding<float>(new[] { float.Parse(v) })));
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose() => Disposed = true;
    }

    [Fact]
    public async Task Concurrent_calls_are_merged_into_few_inner_calls_and_each_gets_its_own_slice()
    {
        var fake = new FakeGenerator();
        using var batcher = new BatchingEmbeddingGenerator<string>(fake, maxBatchSize: 32, TimeSpan.FromMilliseconds(50));
        Task<GeneratedEmbeddings<Embedding<float>>>[] calls = Enumerable.Range(0, 32)
            .Select(i => Task.Run(() => batcher.GenerateAsync([i.ToString(), (i + 1000).ToString()])))
            .ToArray();
        GeneratedEmbeddings<Embedding<float>>[] results = await Task.WhenAll(calls);

        for (int i = 0; i < 32; i++)
        {
            Assert.Equal(2, results[i].Count);
            Assert.Equal(i, results[i][0].Vector.Span[0]);
            Assert.Equal(i + 1000, results[i][1].Vector.Span[0]);
        }

        Assert.All(fake.BatchSizes, size => Assert.True(size <= 32));
        Assert.Equal(64, fake.BatchSizes.Sum());
        Assert.True(fake.BatchSizes.Count <= 8, $"expected few model runs, got {fake.BatchSizes.Count}: {string.Join(",", fake.BatchSizes)}");
    }

    [Fact]
    public async Task A_single_call_larger_than_the_batch_runs_alone()
    {
        var fake = new FakeGenerator();
        using var batcher = new BatchingEmbeddingGenerator<string>(fake, maxBatchSize: 4, TimeSpan.FromMilliseconds(1));
        var result = await batcher.GenerateAsync(Enumerable.Range(0, 10).Select(i => i.ToString()));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), result.Select(e => e.Vector.Span[0]));
        Assert.Equal([10], fake.BatchSizes);
    }

    [Fact]
    public async Task A_bad_input_fails_only_its_own_call()
    {
        var fake = new FakeGenerator { Gate = new TaskCompletionSource() };
        using var batcher = new BatchingEmbeddingGenerator<string>(fake, maxBatchSize: 32, TimeSpan.FromMilliseconds(30));
        // The first call holds the consumer so the next three queue up and are merged into one run.
        Task<GeneratedEmbeddings<Embedding<float>>> first = batcher.GenerateAsync(["0"]);
        await WaitUntil(() => fake.BatchSizes.Count == 1);
        Task<GeneratedEmbeddings<Embedding<float>>> good1 = batcher.GenerateAsync(["1"]);
        Task<GeneratedEmbeddings<Embedding<float>>> bad = batcher.GenerateAsync(["bad"]);
        Task<GeneratedEmbeddings<Embedding<float>>> good2 = batcher.GenerateAsync(["2"]);
        fake.Gate.SetResult();

        Assert.Equal(0, (await first)[0].Vector.Span[0]);
        Assert.Equal(1, (await good1)[0].Vector.Span[0]);
        Assert.Equal(2, (await good2)[0].Vector.Span[0]);
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => bad);
        Assert.Equal("bad input", error.Message);
        // 1 (first) + 3 (merged, failed) + 1 + 1 + 1 (retried alone)
        Assert.Equal([1, 3, 1, 1, 1], fake.BatchSizes);
    }

    [Fact]
    public async Task Cancelling_one_caller_does_not_cancel_the_batch()
    {
        var fake = new FakeGenerator { Gate = new TaskCompletionSource() };
        using var batcher = new BatchingEmbeddingGenerator<string>(fake, maxBatchSize: 32, TimeSpan.FromMilliseconds(30));
        using var cts = new CancellationTokenSource();
        Task<GeneratedEmbeddings<Embedding<float>>> blocker = batcher.GenerateAsync(["0"]);
        await WaitUntil(() => fake.BatchSizes.Count == 1);
        Task<GeneratedEmbeddings<Embedding<float>>> cancelled = batcher.GenerateAsync(["1"], cancellationToken: cts.Token);
        Task<GeneratedEmbeddings<Embedding<float>>> other = batcher.GenerateAsync(["2"]);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        fake.Gate.SetResult();

        Assert.Equal(0, (await blocker)[0].Vector.Span[0]);
        Assert.Equal(2, (await other)[0].Vector.Span[0]);
        // The cancelled caller was dropped before the run: the model never saw its input.
        Assert.Equal(2, fake.BatchSizes.Sum());
    }

    [Fact]
    public async Task Dispose_drains_queued_calls_then_disposes_the_inner_generator()
    {
        var fake = new FakeGenerator { Gate = new TaskCompletionSource() };
        var batcher = new BatchingEmbeddingGenerator<string>(fake, maxBatchSize: 2, TimeSpan.FromMilliseconds(1));
        Task<GeneratedEmbeddings<Embedding<float>>>[] calls = Enumerable.Range(0, 6).Select(i => batcher.GenerateAsync([i.ToString()])).ToArray();
        await WaitUntil(() => !fake.BatchSizes.IsEmpty);
        Task dispose = Task.Run(batcher.Dispose);
        await Task.Delay(50);
        Assert.False(dispose.IsCompleted); // waiting for the queued calls
        fake.Gate.SetResult();
        await dispose;

        GeneratedEmbeddings<Embedding<float>>[] results = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (float)i), results.Select(r => r[0].Vector.Span[0]));
        Assert.True(fake.Disposed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => batcher.GenerateAsync(["7"]));
    }

    [Fact]
    public async Task Calls_with_options_bypass_the_queue()
    {
        var fake = new FakeGenerator();
        using var batcher = new BatchingEmbeddingGenerator<string>(fake, maxBatchSize: 32, TimeSpan.FromSeconds(10));
        // A 10 s window would stall a queued call; with options it goes straight through.
        var result = await batcher.GenerateAsync(["5"], new EmbeddingGenerationOptions()).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(5, result[0].Vector.Span[0]);
    }

    [Fact]
    public void Rejects_bad_settings()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchingEmbeddingGenerator<string>(new FakeGenerator(), maxBatchSize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchingEmbeddingGenerator<string>(new FakeGenerator(), 4, TimeSpan.FromMilliseconds(-1)));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
