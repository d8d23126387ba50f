namespace Omnivec.Core.Tests;

public class EmbeddingSpaceTests
{
    [Fact]
    public void Spaces_from_different_model_versions_are_refused()
    {
        var a = new EmbeddingSpace("azure", "vision", "2023-04-15", 1024);
        var b = a with { Revision = "2022-04-11" };
        Assert.True(a.IsCompatibleWith(a with { }));
        var error = Assert.Throws<EmbeddingSpaceMismatchException>(() => a.EnsureCompatibleWith(b));
        Assert.Contains("not comparable", error.Message);
    }
}
