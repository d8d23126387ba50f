using System.Diagnostics;
using Omnivec.Index;
using Omnivec.Index.Postgres;

namespace Omnivec.Server;

/// <summary>
/// The collections the server has open. A <see cref="Collection"/> caches its vectors in memory and serialises writes, so
/// one shared instance per name is both faster and correct; but each open collection holds file descriptors (database,
/// WAL, lock, snapshot), so their number is bounded: a collection nobody uses is closed after
/// <see cref="OmnivecServerOptions.CollectionIdleTimeout"/>, and beyond <see cref="OmnivecServerOptions.MaxOpenCollections"/>
/// the least recently used idle ones are closed at once. Requests hold a <see cref="CollectionLease"/> while they use a
/// collection, so it is never closed under them. New collections are limited to <see cref="OmnivecServerOptions.MaxCollections"/>.
/// </summary>
internal sealed class CollectionRegistry : IDisposable
{
    private readonly Dictionary<string, Entry> _open = new(StringComparer.Ordinal);
    private readonly HashSet<string> _swept = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly OmnivecServerOptions _options;
    private readonly Timer _idleTimer;
    private bool _disposed;

    public CollectionRegistry(OmnivecServerOptions options)
    {
        _options = options;
        Store = StoreLocation.Open(options.StoreRoot, options.Postgres);
        TimeSpan half = options.CollectionIdleTimeout / 2;
        TimeSpan period = half > TimeSpan.FromSeconds(30) ? TimeSpan.FromSeconds(30) : half < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : half;
        _idleTimer = new Timer(_ => CloseIdle(), null, period, period);
    }

    public IVectorStore Store { get; }

    /// <summary>How many collections are open right now (for tests and diagnostics).</summary>
    public int OpenCount
    {
        get
        {
            lock (_gate)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Where the server keeps the files uploaded into a collection.</summary>
    public string UploadsDirectory(string collection) => Path.Combine(FilesRoot, collection, "uploads");

    /// <summary>Where uploaded videos wait while they are segmented and embedded (outside uploads/, so the orphan sweep leaves them).</summary>
    public string StagingDirectory(string collection) => Path.Combine(FilesRoot, collection, "incoming");

    /// <summary>Where uploaded files live: UploadsRoot, else the store folder (for a PostgreSQL store, beside the default store).</summary>
    private string FilesRoot => Path.GetFullPath(_options.UploadsRoot
        ?? (PostgresUri.IsPostgres(_options.StoreRoot) ? Path.Combine(Path.GetDirectoryName(CollectionStore.DefaultRoot)!, "uploads") : _options.StoreRoot));

    /// <summary>
    /// The path of an item as a response shows it: relative to the collection's folder for files the server keeps there
    /// (uploads), else the full path only when <see cref="OmnivecServerOptions.ExposeFilePaths"/> is on and the file name
    /// otherwise: a client never learns how the server's disk is laid out.
    /// </summary>
    public string PublicPath(string collection, string path)
    {
        string folder = Path.Combine(FilesRoot, collection) + Path.DirectorySeparatorChar;
        if (path.StartsWith(folder, StringComparison.Ordinal))
        {
            return path[folder.Length..].Replace(Path.DirectorySeparatorChar, '/');
        }

        return _options.ExposeFilePaths ? path : Path.GetFileName(path);
    }

    /// <summary>An existing collection; <see cref="CollectionNotFoundException"/> (404) when there is none.</summary>
    public CollectionLease Open(string name)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_open.TryGetValue(name, out Entry? entry))
            {
                IVectorCollection collection;
                try
                {
                    collection = Store.Open(name);
                }
                catch (CollectionNotFoundException)
                {
                    throw ApiException.NotFound($"No collection named '{name}'."); // the store's message names the server's folder
                }

                entry = Add(name, collection);
            }

            return Lease(entry);
        }
    }

    /// <summary>
    /// The collection, created for <paramref name="space"/> when missing (if creating is allowed and under the limit);
    /// 409 when it holds another space.
    /// </summary>
    public CollectionLease OpenOrCreate(string name, EmbeddingSpace space)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_open.TryGetValue(name, out Entry? entry))
            {
                bool existed = Store.Exists(name);
                if (!existed)
                {
                    if (!_options.CreateCollectionsOnUpload)
                    {
                        throw new CollectionNotFoundException($"No collection named '{name}'; this server does not create collections on upload.");
                    }

                    int count = CountCollections();
                    if (count >= _options.MaxCollections)
                    {
                        throw new ApiException(Microsoft.AspNetCore.Http.StatusCodes.Status409Conflict,
                            $"This server already holds {count:N0} collections, its limit (MaxCollections); upload into an existing one.");
                    }
                }

                entry = Add(name, Store.OpenOrCreate(name, space));
                if (!existed)
                {
                    _options.CollectionCreated?.Invoke(entry.Collection);
                }
            }

            entry.Collection.Space.EnsureCompatibleWith(space);
            return Lease(entry);
        }
    }

    /// <summary>Collections in the store (bounded by <see cref="OmnivecServerOptions.MaxCollections"/> for those the server creates).</summary>
    public int CountCollections() => Store.List().Count;

    /// <summary>
    /// Whether the store answers now, quickly (a PostgreSQL store: one connection, no retries, within <paramref name="timeout"/>;
    /// a folder: it can be listed, or does not exist yet and is made on the first upload). Null when it does, else the reason.
    /// </summary>
    public async Task<string?> ProbeStoreAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Store is PostgresStore postgres)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                await postgres.ProbeAsync(deadline.Token).ConfigureAwait(false);
                return null;
            }
            catch (PostgresStoreException e)
            {
                return e.Message;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return $"PostgreSQL at {postgres.Location} did not answer within {timeout.TotalSeconds:0.#} s.";
            }
        }

        try
        {
            if (Directory.Exists(Store.Location))
            {
                _ = Directory.EnumerateFileSystemEntries(Store.Location).Any();
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"The store folder cannot be read: {e.Message}";
        }
    }

    /// <summary>Closes collections nobody has used for the idle timeout (the timer calls this).</summary>
    internal void CloseIdle()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            long now = Stopwatch.GetTimestamp();
            foreach ((string name, Entry entry) in _open.ToArray())
            {
                if (entry.Users == 0 && Stopwatch.GetElapsedTime(entry.LastUsed, now) >= _options.CollectionIdleTimeout)
                {
                    Close(name, entry);
                }
            }
        }
    }

    private Entry Add(string name, IVectorCollection collection)
    {
        if (_swept.Add(name))
        {
            SweepOrphans(collection);
        }

        var entry = new Entry(collection);
        _open[name] = entry;
        // Over the limit: close the least recently used collections nobody is using right now.
        if (_open.Count > _options.MaxOpenCollections)
        {
            foreach ((string oldName, Entry old) in _open.Where(e => e.Value.Users == 0 && e.Value != entry).OrderBy(e => e.Value.LastUsed).ToArray())
            {
                if (_open.Count <= _options.MaxOpenCollections)
                {
                    break;
                }

                Close(oldName, old);
            }
        }

        return entry;
    }

    private void Close(string name, Entry entry)
    {
        _open.Remove(name);
        entry.Collection.Dispose();
    }

    private CollectionLease Lease(Entry entry)
    {
        entry.Users++;
        entry.LastUsed = Stopwatch.GetTimestamp();
        return new CollectionLease(this, entry);
    }

    private void Release(Entry entry)
    {
        lock (_gate)
        {
            entry.Users--;
            entry.LastUsed = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>
    /// Uploaded files are written before their row is committed; a kill in between leaves a file no row names. Once per
    /// collection and process, before any upload of this process can be in flight there, such files are removed.
    /// </summary>
    private void SweepOrphans(IVectorCollection collection)
    {
        string uploads = UploadsDirectory(collection.Name);
        if (!Directory.Exists(uploads))
        {
            return;
        }

        // A video's segments name its file with a media fragment (clip.mp4#t=3,6).
        var referenced = new HashSet<string>(collection.Items(uploads + Path.DirectorySeparatorChar).Select(i => Omnivec.Indexing.VideoSegmentItems.FileOf(i.Path) ?? i.Path),
            StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(uploads))
        {
            if (!referenced.Contains(file))
            {
                try
                {
                    File.Delete(file);
                }
                catch (IOException)
                {
                    // tried again on the next start
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _idleTimer.Dispose();
            foreach (Entry entry in _open.Values)
            {
                entry.Collection.Dispose();
            }

            _open.Clear();
            (Store as IDisposable)?.Dispose();
        }
    }

    internal sealed class Entry(IVectorCollection collection)
    {
        public IVectorCollection Collection { get; } = collection;

        public int Users { get; set; }

        public long LastUsed { get; set; }
    }

    /// <summary>A collection in use by one request; disposing it lets the registry close the collection when idle.</summary>
    internal sealed class CollectionLease(CollectionRegistry registry, Entry entry) : IDisposable
    {
        private int _released;

        public IVectorCollection Collection => entry.Collection;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                registry.Release(entry);
            }
        }
    }
}
