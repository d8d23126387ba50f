using System.Runtime.Intrinsics;

namespace Omnivec.Media;

/// <summary>
/// FFmpeg's planar <c>gbrp</c> frames (a G plane, a B plane, then an R plane) to interleaved RGB.
/// </summary>
/// <remarks>
/// Frames are asked of FFmpeg as <c>gbrp</c>, not <c>rgb24</c>: swscale gives the same pixels either way (bit for bit,
/// measured on the bench video), but its packed 24-bit writer is scalar C on FFmpeg's filter thread, where the planar one
/// is not; on the 1080p bench video that is about 0.6 s of 4.1 s of decoding and 1 CPU-s (docs/benchmarks.md, section 6).
/// Interleaving here costs a few shuffles per 16 pixels.
/// </remarks>
internal static class PlanarRgb
{
    /// <summary>Interleaves one <c>gbrp</c> frame of <paramref name="pixels"/> pixels into <paramref name="rgb"/>.</summary>
    public static void Interleave(ReadOnlySpan<byte> gbrp, Span<byte> rgb, int pixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gbrp.Length, pixels * 3, nameof(gbrp));
        ArgumentOutOfRangeException.ThrowIfLessThan(rgb.Length, pixels * 3, nameof(rgb));
        ReadOnlySpan<byte> g = gbrp[..pixels];
        ReadOnlySpan<byte> b = gbrp.Slice(pixels, pixels);
        ReadOnlySpan<byte> r = gbrp.Slice(2 * pixels, pixels);
        int x = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            // 16 pixels → 48 bytes: each output vector ORs one shuffle of each plane; an index of 0xFF gives a zero byte.
            const byte Z = 0xFF;
            Vector128<byte> r0 = Vector128.Create((byte)0, Z, Z, 1, Z, Z, 2, Z, Z, 3, Z, Z, 4, Z, Z, 5);
            Vector128<byte> g0 = Vector128.Create((byte)Z, 0, Z, Z, 1, Z, Z, 2, Z, Z, 3, Z, Z, 4, Z, Z);
            Vector128<byte> b0 = Vector128.Create((byte)Z, Z, 0, Z, Z, 1, Z, Z, 2, Z, Z, 3, Z, Z, 4, Z);
            Vector128<byte> r1 = Vector128.Create((byte)Z, Z, 6, Z, Z, 7, Z, Z, 8, Z, Z, 9, Z, Z, 10, Z);
            Vector128<byte> g1 = Vector128.Create((byte)5, Z, Z, 6, Z, Z, 7, Z, Z, 8, Z, Z, 9, Z, Z, 10);
            Vector128<byte> b1 = Vector128.Create((byte)Z, 5, Z, Z, 6, Z, Z, 7, Z, Z, 8, Z, Z, 9, Z, Z);
            Vector128<byte> r2 = Vector128.Create((byte)Z, 11, Z, Z, 12, Z, Z, 13, Z, Z, 14, Z, Z, 15, Z, Z);
            Vector128<byte> g2 = Vector128.Create((byte)Z, Z, 11, Z, Z, 12, Z, Z, 13, Z, Z, 14, Z, Z, 15, Z);
            Vector128<byte> b2 = Vector128.Create((byte)10, Z, Z, 11, Z, Z, 12, Z, Z, 13, Z, Z, 14, Z, Z, 15);
            for (; x + 16 <= pixels; x += 16)
            {
                Vector128<byte> rv = Vector128.Create(r.Slice(x, 16));
                Vector128<byte> gv = Vector128.Create(g.Slice(x, 16));
                Vector128<byte> bv = Vector128.Create(b.Slice(x, 16));
                Span<byte> o = rgb.Slice(x * 3, 48);
                (Vector128.Shuffle(rv, r0) | Vector128.Shuffle(gv, g0) | Vector128.Shuffle(bv, b0)).CopyTo(o);
                (Vector128.Shuffle(rv, r1) | Vector128.Shuffle(gv, g1) | Vector128.Shuffle(bv, b1)).CopyTo(o[16..]);
                (Vector128.Shuffle(rv, r2) | Vector128.Shuffle(gv, g2) | Vector128.Shuffle(bv, b2)).CopyTo(o[32..]);
            }
        }

        for (; x < pixels; x++)
        {
            rgb[x * 3] = r[x];
            rgb[x * 3 + 1] = g[x];
            rgb[x * 3 + 2] = b[x];
        }
    }
}
