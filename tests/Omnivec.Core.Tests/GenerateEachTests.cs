using Microsoft.Extensions.AI;

namespace Omnivec.Core.Tests;

/// <summary><see cref="EmbeddingGeneratorBatchExtensions.GenerateEachAsync"/>: one bad input fails only itself.</summary>
public sealed class GenerateEachTests
{
    [Fact]
    public async Task A_good_batch_takes_one_call()
    {
        var generator = new StrictGenerator();
        IReadOnlyList<EmbeddingOutcome> outcomes = await generator.GenerateEachAsync(["a", "bb", "ccc"]);
        Assert.Equal([1f, 2f, 3f], outcomes.Select(o => o.Embedding!.Vector.Span[0]));
        Assert.Equal(1, generator.Calls);
    }

    [Fact]
    public async Task A_bad_input_is_reported_alone_and_the_others_are_embedded()
    {
        var generator = new StrictGenerator();
        IReadOnlyList<EmbeddingOutcome> outcomes = await generator.GenerateEachAsync(["a", "BAD", "ccc"]);
        Assert.True(outcomes[0].Succeeded);
        Assert.False(outcomes[1].Succeeded);
        Assert.IsType<InvalidInputException>(outcomes[1].Error);
        Assert.Contains("BAD", outcomes[1].Error!.Message, StringComparison.Ordinal);
        Assert.Equal(3f, outcomes[2].Embedding!.Vector.Span[0]);
        Assert.Equal(4, generator.Calls); // the batch, then one call per input
    }

    [Fact]
    public async Task Failures_that_are_not_about_an_input_propagate()
    {
        var generator = new StrictGenerator();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateEachAsync(["a", "b"], cts.Token));
        Assert.Empty(await generator.GenerateEachAsync([]));
    }

    [Fact]
    public async Task A_per_item_embedder_is_asked_directly()
    {
        var generator = new PerItemGenerator();
        IReadOnlyList<EmbeddingOutcome> outcomes = await generator.GenerateEachAsync([new DataContent(new byte[] { 1 }, "image/png"), new DataContent(new byte[] { 2 }, "image/png")]);
        Assert.Equal(2, outcomes.Count);
        Assert.False(outcomes[1].Succeeded);
        Assert.Equal(0, generator.BatchCalls);
    }

    [Fact]
    public async Task A_per_item_embedder_behind_decorators_is_still_found()
    {
        // A logging/caching-style decorator, then the batcher, as a host would compose them: neither hides the capability.
        var inner = new PerItemGenerator();
        using var decorated = new BatchingEmbeddingGenerator<DataContent>(new PassThroughDecorator(inner));

        IReadOnlyList<EmbeddingOutcome> outcomes = await decorated.GenerateEachAsync([new DataContent(new byte[] { 1 }, "image/png"), new DataContent(new byte[] { 2 }, "image/png")]);

        Assert.Same(inner, decorated.GetService<IPerItemImageEmbedder>());
        Assert.Equal([true, false], outcomes.Select(o => o.Succeeded));
        Assert.Equal(0, inner.BatchCalls);
    }

    [Fact]
    public async Task A_generator_without_the_capability_is_not_mistaken_for_one_behind_a_decorator()
    {
        var inner = new StrictGenerator();
        using var decorated = new PassThroughStringDecorator(inner);
        Assert.Null(decorated.GetService<IPerItemImageEmbedder>());
        Assert.Equal(3, (await decorated.GenerateEachAsync(["a", "BAD", "c"])).Count);
    }

    /// <summary>A decorator in the Microsoft.Extensions.AI style (like logging or caching): it forwards everything.</summary>
    private sealed class PassThroughDecorator(IEmbeddingGenerator<DataContent, Embedding<float>> inner) : DelegatingEmbeddingGenerator<DataContent, Embedding<float>>(inner);

    private sealed class PassThroughStringDecorator(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner);

    /// <summary>Embeds a string as [length]; any input "BAD" fails the whole call, as real providers do.</summary>
    private sealed class StrictGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        public int Calls { get; private set; }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Calls++;
            string[] inputs = [.. values];
            if (inputs.FirstOrDefault(v => v == "BAD") is { } bad)
            {
                throw new InvalidInputException($"input '{bad}' is not acceptable");
            }

            return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(inputs.Select(v => new Embedding<float>(new float[] { v.Length }))));
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose() { }
    }

    /// <summary>Fails every second image through the per-item interface; its batch method must not be used.</summary>
    private sealed class PerItemGenerator : IEmbeddingGenerator<DataContent, Embedding<float>>, IPerItemImageEmbedder
    {
        public int BatchCalls { get; private set; }

        public IReadOnlyList<EmbeddingOutcome> EmbedEach(IReadOnlyList<DataContent> images, CancellationToken cancellationToken = default) =>
            [.. images.Select((_, i) => i % 2 == 0 ? new EmbeddingOutcome(new Embedding<float>(new float[] { 1 }), null) : new EmbeddingOutcome(null, new InvalidInputException("corrupt")))];

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            BatchCalls++;
            throw new InvalidOperationException("batch path used");
        }

        // The Microsoft.Extensions.AI convention: a generator answers for the types it implements.
        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose() { }
    }
}
