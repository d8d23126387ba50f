using System.Buffers.Binary;

namespace Omnivec.Tests;

/// <summary>Small helpers for test recordings.</summary>
internal static class TestAudio
{
    /// <summary>A 16-bit mono WAV (44-byte header) cut to [start, start + samples).</summary>
    public static byte[] CutWav(byte[] wav, int startSample, int samples)
    {
        byte[] cut = new byte[44 + samples * 2];
        wav.AsSpan(0, 44).CopyTo(cut);
        wav.AsSpan(44 + startSample * 2, samples * 2).CopyTo(cut.AsSpan(44));
        BinaryPrimitives.WriteInt32LittleEndian(cut.AsSpan(4), 36 + samples * 2);
        BinaryPrimitives.WriteInt32LittleEndian(cut.AsSpan(40), samples * 2);
        return cut;
    }
}
