using Omnivec.Imaging;

namespace Omnivec.Server;

/// <summary>
/// JPEG thumbnails of collection items, rendered by <see cref="ThumbnailRenderer"/> (reduced-size decoding, so a huge photo
/// never sits in memory whole) in a small set of sizes, at most <see cref="OmnivecServerOptions.ThumbnailConcurrency"/> at a
/// time with <see cref="OmnivecServerOptions.ThumbnailQueueLength"/> waiting (then 503 with Retry-After), and kept in a small
/// in-memory LRU keyed by collection, id and size (a photo grid asks for the same ones again and again).
/// </summary>
internal sealed class Thumbnails : IDisposable
{
    /// <summary>The sizes served (longer side, in pixels): few, so the cache cannot be bypassed with a new size each time.</summary>
    public static readonly IReadOnlyList<int> Sizes = [64, 128, 256, 512, 1024];

    public const int DefaultSize = 256;

    private readonly ThumbnailRenderer _renderer;
    private readonly Omnivec.Media.VideoReader _videos = new();
    private readonly int _capacity;
    private readonly Dictionary<(string Collection, long Id, int Size), LinkedListNode<(string, long, int, byte[])>> _index = [];
    private readonly LinkedList<(string Collection, long Id, int Size, byte[] Jpeg)> _lru = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _slots;
    private readonly int _queueLength;
    private int _waiting;

    public Thumbnails(OmnivecServerOptions options)
    {
        _renderer = new ThumbnailRenderer(new ImageDecoderOptions { MaxPixels = options.MaxImagePixels });
        _capacity = Math.Max(0, options.ThumbnailCacheEntries);
        _slots = new SemaphoreSlim(options.ThumbnailConcurrency, options.ThumbnailConcurrency);
        _queueLength = options.ThumbnailQueueLength;
    }

    /// <summary>The render slots (tests hold one to see what a busy server answers).</summary>
    internal SemaphoreSlim Slots => _slots;

    /// <summary>Requests waiting for a render slot now (for tests).</summary>
    internal int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Most renders that ran at the same time so far (for tests).</summary>
    internal int PeakConcurrency { get; private set; }

    private int _running;

    /// <summary>A JPEG of the item: the image itself, or for a video segment the frame at <paramref name="videoAtSec"/> (FFmpeg, killed on cancel).</summary>
    public async Task<byte[]> GetAsync(string collection, long id, string path, int size, CancellationToken cancellationToken, double? videoAtSec = null)
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

        if (!_slots.Wait(0, CancellationToken.None))
        {
            if (Interlocked.Increment(ref _waiting) > _queueLength)
            {
                Interlocked.Decrement(ref _waiting);
                throw ApiException.Unavailable("The server is busy rendering thumbnails; try again shortly.", retryAfterSeconds: 1);
            }

            try
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }

        byte[] jpeg;
        try
        {
            int running = Interlocked.Increment(ref _running);
            lock (_gate)
            {
                PeakConcurrency = Math.Max(PeakConcurrency, running);
            }

            jpeg = videoAtSec is double at
                ? await _videos.ThumbnailAsync(path, at, size, cancellationToken).ConfigureAwait(false)
                : _renderer.RenderFile(path, size, cancellationToken: cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _slots.Release();
        }

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

    public void Dispose() => _slots.Dispose();
}
