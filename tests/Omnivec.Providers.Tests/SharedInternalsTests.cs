namespace Omnivec.Providers.Tests;

/// <summary>Unit tests of each provider's internals.</summary>
public sealed class SharedInternalsTests
{
    [Theory]
    [InlineData("a red bicycle", 3)]
    [InlineData("a red bicycle.", 4)]
    [InlineData("antidisestablishmentarianism", 4)]
    [InlineData("東京タワー", 5)]
    public void Token_estimate_counts_word_pieces(string text, int expected) =>
        Assert.Equal(expected, Google.TextTokenEstimate.Estimate(text));

    [Fact]
    public void Word_count_follows_whitespace() =>
        Assert.Equal([0, 1, 3, 70], new[] { "", "one", "  two\twords\nhere ", string.Join("  ", Enumerable.Repeat("w", 70)) }.Select(Azure.AzureVisionEmbeddingGenerator.CountWords));
}
