using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Omnivec.Index.Storage;

namespace Omnivec.Index;

/// <summary>
/// A folder of collections, one sub-folder each (<c>&lt;root&gt;/&lt;name&gt;/collection.db</c> plus derived files).
/// </summary>
public sealed partial class CollectionStore : IVectorStore
{
    /// <summary>
    /// <c>$OMNIVEC_HOME/collections</c> when OMNIVEC_HOME is set, else <c>&lt;LocalApplicationData&gt;/omnivec/collections</c>
    /// (~/.local/share/omnivec/collections on Linux). The sub-folder keeps collections apart from model caches.
    /// </summary>
    public static string DefaultRoot
    {
        get
        {
            string? home = Environment.GetEnvironmentVariable("OMNIVEC_HOME");
            string baseDir = !string.IsNullOrWhiteSpace(home)
                ? home
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "omnivec");
            return Path.Combine(baseDir, "collections");
        }
    }

    /// <summary>Opens (without creating anything yet) the store whose collections live under <paramref name="rootDirectory"/>.</summary>
    public CollectionStore(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Omnivec stores vectors as little-endian float32 and needs a little-endian machine.");
        }

        RootDirectory = Path.GetFullPath(rootDirectory);
        EnsureRootIsNotAFile();
    }

    /// <summary>The folder that holds one subfolder per collection.</summary>
    public string RootDirectory { get; }

    /// <inheritdoc/>
    public string Location => RootDirectory;

    /// <summary>Every collection under the root, by name.</summary>
    public IReadOnlyList<CollectionInfo> List()
    {
        EnsureRootIsNotAFile();
        if (!Directory.Exists(RootDirectory))
        {
            return [];
        }

        var result = new List<CollectionInfo>();
        foreach (string dir in Directory.EnumerateDirectories(RootDirectory).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(dir);
            string db = Path.Combine(dir, CollectionDb.FileName);
            if (!IsValidName(name) || !File.Exists(db))
            {
                continue;
            }

            using SqliteConnection connection = CollectionDb.Open(db, create: false);
            try
            {
                Dictionary<string, string> meta = CollectionDb.ReadMeta(connection);
                EmbeddingSpace space = CollectionDb.SpaceFromMeta(meta, db);
                long bytes = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length); // uploads/ too
                result.Add(new CollectionInfo(name, space, CollectionDb.Count(connection), bytes, Ticks(meta, "created_ticks"), Ticks(meta, "updated_ticks")));
            }
            catch (SqliteException e)
            {
                throw CollectionDb.OpenError(db, e);
            }
        }

        return result;
    }

    /// <summary>True when a collection of that name exists in this store.</summary>
    public bool Exists(string name)
    {
        ValidateName(name);
        return File.Exists(Path.Combine(RootDirectory, name, CollectionDb.FileName));
    }

    /// <summary>Opens an existing collection; throws <see cref="CollectionNotFoundException"/> when there is none.</summary>
    public Collection Open(string name)
    {
        ValidateName(name);
        EnsureRootIsNotAFile();
        string dir = Path.Combine(RootDirectory, name);
        if (!File.Exists(Path.Combine(dir, CollectionDb.FileName)))
        {
            throw new CollectionNotFoundException($"No collection named '{name}' in {RootDirectory}.");
        }

        return new Collection(name, dir, writeLock: null);
    }

    /// <summary>
    /// Opens the collection, creating it for <paramref name="space"/> if absent. An existing collection of another
    /// space is refused with <see cref="EmbeddingSpaceMismatchException"/> (its vectors are not comparable).
    /// </summary>
    public Collection OpenOrCreate(string name, EmbeddingSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        ValidateName(name);
        if (space.Dimensions <= 0 || string.IsNullOrWhiteSpace(space.Provider) || string.IsNullOrWhiteSpace(space.ModelId))
        {
            throw new InvalidInputException($"Embedding space {space} needs a provider, a model id and a positive dimension count.");
        }

        string dir = Path.Combine(RootDirectory, name);
        string db = Path.Combine(dir, CollectionDb.FileName);
        FileStream? writeLock = null;
        EnsureRootIsNotAFile();
        if (!File.Exists(db))
        {
            try
            {
                Directory.CreateDirectory(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CollectionStoreException($"Cannot create the collection folder {dir}: {e.Message}", e);
            }
            writeLock = AcquireWriteLock(dir, name);
            try
            {
                if (!File.Exists(db))
                {
                    CreateDatabase(db, space);
                }
            }
            catch
            {
                writeLock.Dispose();
                throw;
            }
        }

        Collection collection;
        try
        {
            collection = new Collection(name, dir, writeLock);
        }
        catch
        {
            writeLock?.Dispose();
            throw;
        }

        try
        {
            collection.Space.EnsureCompatibleWith(space);
            return collection;
        }
        catch
        {
            collection.Dispose();
            throw;
        }
    }

    IVectorCollection IVectorStore.Open(string name) => Open(name);

    IVectorCollection IVectorStore.OpenOrCreate(string name, EmbeddingSpace space) => OpenOrCreate(name, space);

    /// <summary>
    /// Builds the database under a temporary name and renames it into place, so a crash during creation never
    /// leaves a collection.db without its schema. Caller holds the write lock.
    /// </summary>
    private static void CreateDatabase(string db, EmbeddingSpace space)
    {
        string temp = db + ".creating";
        foreach (string suffix in (string[])["", "-wal", "-shm", "-journal"])
        {
            File.Delete(temp + suffix);
        }

        using (SqliteConnection connection = CollectionDb.Open(temp, create: true))
        {
            CollectionDb.CreateSchema(connection, space);
            // Fold the WAL into the main file so the rename moves everything.
            CollectionDb.Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
        }

        File.Move(temp, db);
        foreach (string suffix in (string[])["-wal", "-shm"])
        {
            File.Delete(temp + suffix);
        }
    }

    /// <summary>Deletes a collection and its files; false when it does not exist. Refused while another process writes to it.</summary>
    public bool Delete(string name)
    {
        ValidateName(name);
        string dir = Path.Combine(RootDirectory, name);
        if (!File.Exists(Path.Combine(dir, CollectionDb.FileName)))
        {
            return false;
        }

        using (AcquireWriteLock(dir, name))
        {
            // Remove the database first so a half-finished delete never looks like a valid collection.
            foreach (string suffix in (string[])["", "-wal", "-shm"])
            {
                File.Delete(Path.Combine(dir, CollectionDb.FileName + suffix));
            }
        }

        Directory.Delete(dir, recursive: true);
        return true;
    }

    /// <summary>
    /// Exclusive, advisory, per-collection lock held by the writing <see cref="Collection"/> for its lifetime.
    /// The OS releases it when the process dies, so a killed writer never leaves the collection locked.
    /// </summary>
    internal static FileStream AcquireWriteLock(string directory, string name)
    {
        try
        {
            return new FileStream(Path.Combine(directory, Collection.LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new CollectionBusyException(
                $"Collection '{name}' is being written by another process (or another open handle in this one); " +
                "only one writer at a time is allowed. Close it or wait for it to finish.", e);
        }
    }

    /// <summary>
    /// Letters, digits, '.', '_' and '-', and a name every file system can hold: not a Windows device name (CON, NUL,
    /// COM1, LPT1, … with or without an extension) and not ending in '.' (which Windows drops).
    /// </summary>
    internal static bool IsValidName(string name) =>
        NamePattern().IsMatch(name) && !name.EndsWith('.') && !ReservedNamePattern().IsMatch(name);

    private void EnsureRootIsNotAFile()
    {
        if (File.Exists(RootDirectory))
        {
            throw new CollectionStoreException($"The collection store {RootDirectory} is a file, not a folder.");
        }
    }

    private static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsValidName(name))
        {
            throw new InvalidInputException(
                $"'{(name.Length > 80 ? name[..80] + "…" : name)}' is not a valid collection name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, not ending in '.', and not a reserved device name like CON or NUL.");
        }
    }

    private static DateTimeOffset Ticks(Dictionary<string, string> meta, string key) =>
        meta.TryGetValue(key, out string? value) && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ticks)
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : DateTimeOffset.MinValue;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex ReservedNamePattern();
}
