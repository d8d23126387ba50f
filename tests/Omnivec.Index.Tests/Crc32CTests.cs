using Omnivec.Index.Storage;

namespace Omnivec.Index.Tests;

/// <summary>The snapshot checksum (three interleaved CRC-32C streams joined by shifting) against a bit-by-bit CRC-32C.</summary>
public sealed class Crc32CTests
{
    /// <summary>The reference: CRC-32C (Castagnoli, reflected 0x82F63B78) one bit at a time, the register without inversions.</summary>
    private static uint Reference(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return crc;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(24_575)]      // just below the interleaved path
    [InlineData(24_576)]      // exactly three lanes
    [InlineData(24_583)]      // three lanes and a tail
    [InlineData(1_000_003)]
    public void Matches_the_bitwise_reference(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        foreach (uint start in (uint[])[0u, 0xFFFFFFFFu, 0x12345678u])
        {
            Assert.Equal(Reference(start, data), SnapshotFile.Crc32C(start, data));
        }
    }

    [Fact]
    public void The_standard_check_value_comes_out()
    {
        // CRC-32C("123456789") = 0xE3069283 with the usual inversion before and after.
        Assert.Equal(0xE3069283u, ~SnapshotFile.Crc32C(0xFFFFFFFFu, "123456789"u8));
        var zeros = new byte[100_000];
        Assert.Equal(Reference(0xABCDEF01u, zeros), SnapshotFile.ShiftZeros(0xABCDEF01u, zeros.Length));
    }

    [Fact]
    public void A_flipped_bit_anywhere_changes_it()
    {
        var data = new byte[300_000];
        new Random(5).NextBytes(data);
        uint clean = SnapshotFile.Crc32C(0, data);
        foreach (int at in (int[])[0, 99_999, 100_000, 150_001, 299_999])
        {
            data[at] ^= 0x10;
            Assert.NotEqual(clean, SnapshotFile.Crc32C(0, data));
            data[at] ^= 0x10;
        }
    }
}
