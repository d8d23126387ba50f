namespace Omnivec.Text;

/// <summary>
/// GPT-2's bytes_to_unicode, which CLIP uses: every byte gets a printable character so BPE can work on text.
/// Printable Latin-1 bytes map to themselves; the other 68 map to U+0100 upwards in byte order.
/// </summary>
internal static class ByteLevel
{
    // Byte b → symbol, and symbol → byte for symbols below 0x144 (the largest symbol is U+0143).
    private static readonly char[] s_byteToSymbol = BuildTable();
    private static readonly short[] s_symbolToByte = BuildReverse();
    private static readonly string s_symbolsInOpenAIOrder = BuildOpenAIOrder();

    /// <summary>The 256 symbols in the order simple_tokenizer.py lists them (printable bytes first, then the remapped ones), which fixes ids 0..255.</summary>
    public static ReadOnlySpan<char> SymbolsInOpenAIOrder => s_symbolsInOpenAIOrder;

    public static char ToSymbol(byte b) => s_byteToSymbol[b];

    public static bool TryGetByte(char symbol, out byte value)
    {
        if (symbol < s_symbolToByte.Length && s_symbolToByte[symbol] >= 0)
        {
            value = (byte)s_symbolToByte[symbol];
            return true;
        }

        value = 0;
        return false;
    }

    private static bool IsPrintable(int b) => b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);

    private static char[] BuildTable()
    {
        var table = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            table[b] = IsPrintable(b) ? (char)b : (char)(256 + next++);
        }

        return table;
    }

    private static short[] BuildReverse()
    {
        var reverse = new short[0x144];
        Array.Fill(reverse, (short)-1);
        for (int b = 0; b < 256; b++)
        {
            reverse[s_byteToSymbol[b]] = (short)b;
        }

        return reverse;
    }

    private static string BuildOpenAIOrder()
    {
        var order = new char[256];
        int i = 0;
        for (int b = 0; b < 256; b++)
        {
            if (IsPrintable(b))
            {
                order[i++] = s_byteToSymbol[b];
            }
        }

        for (int b = 0; b < 256; b++)
        {
            if (!IsPrintable(b))
            {
                order[i++] = s_byteToSymbol[b];
            }
        }

        return new string(order);
    }
}
