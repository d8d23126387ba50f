using System.Collections.Concurrent;
using Omnivec.Index;
using Omnivec.Index.Postgres;

namespace Omnivec.Server;

/// <summary>
/// Opens each collection once and keeps it open for the server's lifetime: a <see cref="Collection"/> caches its vectors
/// in memory and serialises writes, so one shared instance per name is both faster and correct.
/// </summary>
internal sealed class CollectionRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, IVectorCollection> _open = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly OmnivecServerOptions _options;

    public CollectionRegistry(OmnivecServerOptions options)
    {
        _options = options;
        Store = StoreLocation.Open(options.StoreRoot);
    }

    public IVectorStore Store { get; }

    /// <summary>Where the server keeps the files uploaded into a collection.</summary>
    public string UploadsDirectory(string collection) => Path.Combine(
        _options.UploadsRoot ?? (PostgresUri.IsPostgres(_options.StoreRoot) ? Path.Combine(Path.GetDirectoryName(CollectionStore.DefaultRoot)!, "uploads") : _options.StoreRoot),
        collection, "uploads");

    /// <summary>An existing collection; <see cref="CollectionNotFoundException"/> (404) when there is none.</summary>
    public IVectorCollection Open(string name)
    {
        if (_open.TryGetValue(name, out IVectorCollection? collection))
        {
            return collection;
        }

        lock (_gate)
        {
            return _open.TryGetValue(name, out collection) ? collection : _open[name] = Store.Open(name);
        }
    }

    /// <summary>The collection, created for <paramref name="space"/> when missing; 409 when it holds another space.</summary>
    public IVectorCollection OpenOrCreate(string name, EmbeddingSpace space)
    {
        lock (_gate)
        {
            if (!_open.TryGetValue(name, out IVectorCollection? collection))
            {
                bool existed = Store.Exists(name);
                collection = Store.OpenOrCreate(name, space);
                _open[name] = collection;
                if (!existed)
                {
                    _options.CollectionCreated?.Invoke(collection);
                }
            }

            collection.Space.EnsureCompatibleWith(space);
            return collection;
        }
    }

    public void Dispose()
    {
        foreach (IVectorCollection collection in _open.Values)
        {
            collection.Dispose();
        }

        _open.Clear();
        (Store as IDisposable)?.Dispose();
    }
}
