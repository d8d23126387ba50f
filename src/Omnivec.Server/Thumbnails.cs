using Omnivec.Imaging;
using SkiaSharp;

namespace Omnivec.Server;

/// <summary>
/// JPEG thumbnails of collection items: decoded upright by <see cref="ImageDecoder"/>, resized with a high-quality cubic
/// filter, kept in a small in-memory LRU keyed by collection, id and size (a photo grid asks for the same ones again and again).
/// </summary>
internal sealed class Thumbnails
{
    public const int MinSize = 16;
    public const int MaxSize = 1024;

    private readonly ImageDecoder _decoder;
    private readonly int _capacity;
    private readonly Dictionary<(string Collection, long Id, int Size), LinkedListNode<(string, long, int, byte[])>> _index = [];
    private readonly LinkedList<(string Collection, long Id, int Size, byte[] Jpeg)> _lru = new();
    private readonly Lock _gate = new();

    public Thumbnails(long maxPixels, int capacity)
    {
        _decoder = new ImageDecoder(new ImageDecoderOptions { MaxPixels = maxPixels });
        _capacity = Math.Max(0, capacity);
    }

    public byte[] Get(string collection, long id, string path, int size)
    {
        var key = (collection, id, size);
        lock (_gate)
        {
            if (_index.TryGetValue(key, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                return node.Value.Item4;
            }
        }

        byte[] jpeg = Render(path, size);
        lock (_gate)
        {
            if (_capacity > 0 && !_index.ContainsKey(key))
            {
                _index[key] = _lru.AddFirst((collection, id, size, jpeg));
                while (_lru.Count > _capacity)
                {
                    var last = _lru.Last!.Value;
                    _index.Remove((last.Collection, last.Id, last.Size));
                    _lru.RemoveLast();
                }
            }
        }

        return jpeg;
    }

    /// <summary>Drops every cached size of an item (after it was deleted or replaced).</summary>
    public void Forget(string collection, long id)
    {
        lock (_gate)
        {
            for (var node = _lru.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Collection == collection && node.Value.Id == id)
                {
                    _index.Remove((collection, id, node.Value.Size));
                    _lru.Remove(node);
                }

                node = next;
            }
        }
    }

    private byte[] Render(string path, int size)
    {
        // The short side only needs to cover the thumbnail's long side, so JPEGs may decode at reduced scale.
        using RgbImage image = _decoder.DecodeFile(path, targetShortSide: size);
        double scale = Math.Min(1.0, (double)size / Math.Max(image.Width, image.Height));
        int width = Math.Max(1, (int)Math.Round(image.Width * scale));
        int height = Math.Max(1, (int)Math.Round(image.Height * scale));

        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var source = new SKBitmap(info);
        Span<byte> rgba = source.GetPixelSpan();
        ReadOnlySpan<byte> rgb = image.Pixels;
        for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4)
        {
            rgba[q] = rgb[p];
            rgba[q + 1] = rgb[p + 1];
            rgba[q + 2] = rgb[p + 2];
            rgba[q + 3] = 255;
        }

        using SKImage full = SKImage.FromBitmap(source);
        using var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(target))
        {
            // Mitchell cubic: sharp without ringing; plain bilinear would alias when shrinking a large photo.
            canvas.DrawImage(full, new SKRect(0, 0, width, height), new SKSamplingOptions(SKCubicResampler.Mitchell));
        }

        using SKData data = target.Encode(SKEncodedImageFormat.Jpeg, 85);
        return data.ToArray();
    }
}
