namespace Omnivec.Onnx.Tests;

/// <summary>
/// Loads each committed test model once per test run (sessions are meant to be shared). JPEGs are decoded in full, as the
/// Python references decode them, so the reference comparisons test the preprocessing exactly; what the default reduced
/// JPEG decoding costs is tested on its own (<see cref="ParityTests"/>, the default's fidelity test).
/// </summary>
public sealed class ModelFixture : IDisposable
{
    /// <summary>Options for a test pack: the given batch size (0: the default) and full JPEG decoding.</summary>
    public static ClipModelOptions FullDecode(int maxBatchSize = 0)
    {
        var options = new ClipModelOptions { Decoder = new Omnivec.Imaging.ImageDecoderOptions { ReducedDecodeFactor = 0 } };
        if (maxBatchSize > 0)
        {
            options.MaxBatchSize = maxBatchSize;
        }

        return options;
    }

    private readonly Lazy<ClipEmbeddingGenerator> _hf = new(() => ClipEmbeddingGenerator.Load(ReferenceData.HfModel, FullDecode(8)));
    private readonly Lazy<ClipEmbeddingGenerator> _immich = new(() => ClipEmbeddingGenerator.Load(ReferenceData.ImmichModel, FullDecode()));
    private readonly Lazy<ClipEmbeddingGenerator> _siglip = new(() => ClipEmbeddingGenerator.Load(SiglipModel, FullDecode(4)));
    private readonly Lazy<ClipEmbeddingGenerator> _mclip = new(() => ClipEmbeddingGenerator.Load(MclipModel, FullDecode(4)));
    private readonly Lazy<ClipEmbeddingGenerator> _siglip2 = new(() => ClipEmbeddingGenerator.Load(Siglip2Model, FullDecode(4)));
    private readonly Lazy<ClipEmbeddingGenerator> _nllb = new(() => ClipEmbeddingGenerator.Load(NllbModel, FullDecode()));
    private readonly Lazy<ClipEmbeddingGenerator> _siglipImmich = new(() => ClipEmbeddingGenerator.Load(SiglipImmichModel, FullDecode()));
    private readonly Lazy<ClipEmbeddingGenerator> _siglip2Immich = new(() => ClipEmbeddingGenerator.Load(Siglip2ImmichModel, FullDecode()));

    public static string SiglipModel => Path.Combine(Omnivec.Tests.TestPaths.Fixtures, "models", "tiny-siglip-hf");
    public static string MclipModel => Path.Combine(Omnivec.Tests.TestPaths.Fixtures, "models", "tiny-mclip-immich");
    public static string SiglipImmichModel => Path.Combine(Omnivec.Tests.TestPaths.Fixtures, "models", "tiny-siglip-immich");
    public static string Siglip2ImmichModel => Path.Combine(Omnivec.Tests.TestPaths.Fixtures, "models", "tiny-siglip2-immich");
    public static string NllbModel => Path.Combine(Omnivec.Tests.TestPaths.Fixtures, "models", "tiny-nllb-clip-immich");
    public static string Siglip2Model => Path.Combine(Omnivec.Tests.TestPaths.Fixtures, "models", "tiny-siglip2-hf");

    public ClipEmbeddingGenerator Hf => _hf.Value;
    public ClipEmbeddingGenerator Immich => _immich.Value;
    public ClipEmbeddingGenerator Siglip => _siglip.Value;
    public ClipEmbeddingGenerator Mclip => _mclip.Value;
    public ClipEmbeddingGenerator Siglip2 => _siglip2.Value;
    public ClipEmbeddingGenerator Nllb => _nllb.Value;
    public ClipEmbeddingGenerator SiglipImmich => _siglipImmich.Value;
    public ClipEmbeddingGenerator Siglip2Immich => _siglip2Immich.Value;

    public void Dispose()
    {
        if (_hf.IsValueCreated)
        {
            _hf.Value.Dispose();
        }

        foreach (Lazy<ClipEmbeddingGenerator> model in new[] { _immich, _siglip, _mclip, _siglip2, _nllb, _siglipImmich, _siglip2Immich })
        {
            if (model.IsValueCreated)
            {
                model.Value.Dispose();
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ModelCollection : ICollectionFixture<ModelFixture>
{
    public const string Name = "models";
}
