using Omnivec.Onnx;
using Omnivec.Tests;

namespace Omnivec.Indexing.Tests;

/// <summary>The committed tiny CLIP (tools/make_test_models.py), shared by the tests of this assembly.</summary>
public sealed class TestModel : IDisposable
{
    public static string Directory => Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-hf");

    public ClipEmbeddingGenerator Clip { get; } = ClipEmbeddingGenerator.Load(Directory);

    public void Dispose() => Clip.Dispose();
}

[CollectionDefinition(Name)]
public sealed class TestModelCollection : ICollectionFixture<TestModel>
{
    public const string Name = "tiny model";
}

/// <summary>A temporary folder deleted at the end of a test.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Directory.CreateTempSubdirectory("omnivec-test-").FullName;

    public string Sub(string name) => System.IO.Directory.CreateDirectory(System.IO.Path.Combine(Path, name)).FullName;

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
