using Omnivec.Text;

namespace Omnivec.Core.Tests.Text;

/// <summary>Expected values are Python 3.11's outputs for the same inputs (html.unescape; the reference's clean-up then str.lower()).</summary>
public class ClipTextNormalizerTests
{
    [Theory]
    [InlineData("&copy 2023 barnes&noble &notit; &#128; &#0; &#x110000; &#1; &hellip &amp;amp;", "\u00a9 2023 barnes&noble \u00acit; \u20ac \ufffd \ufffd  &hellip &amp;")]
    [InlineData("a &#x; b &#; c &; d &&amp; e", "a &#x; b &#; c &; d && e")]
    [InlineData("&NotNestedGreaterGreater; &ngE; &fjlig; &#X41;&#65&#x1F600;", "\u2aa2\u0338 \u2267\u0338 fj AA\U0001F600")]
    [InlineData("&amp;amp;lt;", "&amp;lt;")]
    [InlineData("&#xD800;&#13;&#x7f;x", "\ufffd\rx")]
    [InlineData("no refs here", "no refs here")]
    public void Html_unescape_matches_python(string input, string expected)
    {
        Assert.Equal(expected, PythonHtml.Unescape(input));
    }

    [Fact]
    public void Text_without_references_is_returned_as_is()
    {
        string text = "a photo of a dog";
        Assert.Same(text, PythonHtml.Unescape(text));
        Assert.Same(text, ClipTextNormalizer.Instance.Normalize(text));
    }

    [Theory]
    [InlineData("  \u039f\u0394\u039f\u03a3  \u0130X\t\n", "\u03bf\u03b4\u03bf\u03c2 i\u0307x")] // final sigma, İ → i + U+0307
    [InlineData("\u001f A\u001fB \u001c", "a\u001fb")] // strip() removes U+001F at the ends, \s keeps it inside
    [InlineData("Stra\u00dfe\u00a0\u3000GR\u00d6SSE", "stra\u00dfe gr\u00f6sse")]
    [InlineData("\u0391\u03a3.\u0392 \u03a31 a\u03a3", "\u03b1\u03c3.\u03b2 \u03c31 a\u03c2")] // '.' is case-ignorable
    [InlineData("e\u0301 &amp;amp; X", "\u00e9 & x")] // NFC, then unescape twice
    [InlineData("\U00010400 \u212A", "\U00010428 k")] // supplementary-plane upper case, KELVIN SIGN
    public void Clean_up_and_lowercasing_match_python(string input, string expected)
    {
        Assert.Equal(expected, ClipTextNormalizer.Instance.Normalize(input));
        Assert.Equal(expected, ClipTextNormalizer.Instance.Normalize(input.AsSpan()));
    }
}
