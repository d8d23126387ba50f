namespace Omnivec.Onnx.Tests;

/// <summary>Loads each committed test model once per test run (sessions are meant to be shared).</summary>
public sealed class ModelFixture : IDisposable
{
    private readonly Lazy<ClipEmbeddingGenerator> _hf = new(() => ClipEmbeddingGenerator.Load(ReferenceData.HfModel, new ClipModelOptions { MaxBatchSize = 8 }));
    private readonly Lazy<ClipEmbeddingGenerator> _immich = new(() => ClipEmbeddingGenerator.Load(ReferenceData.ImmichModel));

    public ClipEmbeddingGenerator Hf => _hf.Value;
    public ClipEmbeddingGenerator Immich => _immich.Value;

    public void Dispose()
    {
        if (_hf.IsValueCreated)
        {
            _hf.Value.Dispose();
        }

        if (_immich.IsValueCreated)
        {
            _immich.Value.Dispose();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ModelCollection : ICollectionFixture<ModelFixture>
{
    public const string Name = "models";
}
