using System.Buffers.Binary;

namespace Omnivec.Providers.Tests.Fakes;

/// <summary>Tiny synthetic image headers: enough for size checks, which read only the header.</summary>
public static class TestImages
{
    /// <summary>A PNG signature and IHDR chunk declaring <paramref name="width"/> x <paramref name="height"/>, padded to <paramref name="totalBytes"/>.</summary>
    public static byte[] Png(int width, int height, int totalBytes = 64, byte fill = 0)
    {
        byte[] b = new byte[Math.Max(totalBytes, 33)];
        b.AsSpan().Fill(fill);
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(b, 0);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(8), 13);
        "IHDR"u8.CopyTo(b.AsSpan(12));
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(16), (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(20), (uint)height);
        b[24] = 8;
        b[25] = 2;
        b[26] = b[27] = b[28] = 0;
        return b;
    }

    /// <summary>A GIF89a logical screen of the given size.</summary>
    public static byte[] Gif(int width, int height)
    {
        byte[] b = new byte[32];
        "GIF89a"u8.CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), (ushort)width);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), (ushort)height);
        return b;
    }
}
