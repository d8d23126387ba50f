using System.Buffers;

namespace Omnivec;

/// <summary>
/// An upright 8-bit RGB image (interleaved R,G,B rows, no padding) in a pooled buffer.
/// This is what every decoder produces and what preprocessing consumes. Dispose it to return the buffer.
/// </summary>
public sealed class RgbImage : IDisposable
{
    private byte[]? _buffer;

    private RgbImage(int width, int height, byte[] buffer)
    {
        Width = width;
        Height = height;
        _buffer = buffer;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }
    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Width * 3 bytes per row.</summary>
    public int Stride => Width * 3;

    /// <summary>The pixels: Height rows of Width RGB triples.</summary>
    public Span<byte> Pixels => (_buffer ?? throw new ObjectDisposedException(nameof(RgbImage))).AsSpan(0, Stride * Height);

    /// <summary>Allocates an image with uninitialised pixels from the shared pool.</summary>
    public static RgbImage Allocate(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        long bytes = (long)width * height * 3;
        if (bytes > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"{width}x{height} RGB does not fit in one buffer.");
        }

        return new RgbImage(width, height, ArrayPool<byte>.Shared.Rent((int)bytes));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        byte[]? buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
