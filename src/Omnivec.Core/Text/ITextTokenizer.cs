namespace Omnivec.Text;

/// <summary>
/// A model's text tokenizer as the embedder sees it: text in, exactly <see cref="ContextLength"/> ids out (special
/// tokens added, truncated and padded the way the model's reference does).
/// </summary>
public interface ITextTokenizer
{
    /// <summary>Ids per encoded text, special tokens and padding included.</summary>
    int ContextLength { get; }

    /// <summary>Id written after the last real token up to <see cref="ContextLength"/>.</summary>
    int PadTokenId { get; }

    /// <summary>Writes exactly <see cref="ContextLength"/> ids into <paramref name="destination"/>.</summary>
    /// <returns>The number of ids before the padding (special tokens included): the length of the attention mask.</returns>
    int Encode(ReadOnlySpan<char> text, Span<long> destination);

    /// <summary>The <see cref="ContextLength"/> ids of <paramref name="text"/> in a new array.</summary>
    int[] Encode(string text);

    /// <summary>Ids the text needs before truncation (special tokens included): above <see cref="ContextLength"/> means it will be cut.</summary>
    int CountTokens(string text);
}
