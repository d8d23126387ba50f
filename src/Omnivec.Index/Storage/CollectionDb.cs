using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Omnivec.Index.Search;

namespace Omnivec.Index.Storage;

/// <summary>
/// The SQLite database of one collection: the source of truth. WAL journal, synchronous=FULL (a committed batch
/// survives power loss, not only a process kill; the cost is one fsync per Upsert call, which batches amortise),
/// foreign keys on. Items and their vectors live in two tables written in one transaction.
/// </summary>
internal static class CollectionDb
{
    internal const int SchemaVersion = 1;
    internal const string FileName = "collection.db";

    private const string ItemColumns =
        "i.id, i.path, i.media_type, i.size_bytes, i.modified_ticks, i.content_hash, i.width, i.height, " +
        "i.taken_ticks, i.taken_offset_min, i.camera, i.caption, i.extra";

    /// <summary>
    /// The lexical index: one FTS5 row per item (rowid = item id) holding the item's tokenized name, folder, camera and
    /// caption (<see cref="LexicalText"/>). The text is tokenized before it gets here, so FTS5 only splits at spaces.
    /// </summary>
    private const string LexicalTableSql =
        "CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5(name, folder, camera, caption, tokenize = 'unicode61 remove_diacritics 0')";

    /// <summary>BM25 column weights: a word in the file name counts most, then camera, then caption, then folder.</summary>
    private const string LexicalRank = "bm25(items_fts, 10.0, 2.0, 5.0, 3.0)";

    internal static SqliteConnection Open(string dbPath, bool create)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = dbPath,
            Mode = create ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite,
            // Connections are long-lived per Collection; no pool keeps files open after Dispose (Delete needs that).
            Pooling = false,
            ForeignKeys = true,
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;");
            return connection;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw OpenError(dbPath, e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>A typed error for a database that SQLite cannot open: damaged, locked, or not accessible.</summary>
    internal static OmnivecException OpenError(string dbPath, SqliteException e) => e.SqliteErrorCode switch
    {
        11 or 26 => new CollectionCorruptException($"{dbPath} is not a readable Omnivec collection: {e.Message}", e), // SQLITE_CORRUPT, SQLITE_NOTADB
        5 or 6 => new CollectionBusyException($"{dbPath} is locked by another process: {e.Message}", e),               // SQLITE_BUSY, SQLITE_LOCKED
        _ => new CollectionStoreException($"{dbPath} cannot be opened: {e.Message}", e),
    };

    internal static void CreateSchema(SqliteConnection connection, EmbeddingSpace space)
    {
        Execute(connection, "PRAGMA journal_mode=WAL;");
        using SqliteTransaction tx = connection.BeginTransaction();
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS items(
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                path TEXT NOT NULL UNIQUE,
                media_type TEXT NOT NULL,
                size_bytes INTEGER NOT NULL,
                modified_ticks INTEGER NOT NULL,
                content_hash TEXT NOT NULL,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                taken_ticks INTEGER,
                taken_offset_min INTEGER,
                camera TEXT,
                caption TEXT,
                extra TEXT);
            CREATE TABLE IF NOT EXISTS vectors(
                id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
                vector BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS index_state(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            """, tx);
        Execute(connection, LexicalTableSql, tx);
        string now = DateTimeOffset.UtcNow.UtcTicks.ToString(CultureInfo.InvariantCulture);
        var values = new Dictionary<string, string>
        {
            ["schema_version"] = SchemaVersion.ToString(CultureInfo.InvariantCulture),
            ["provider"] = space.Provider,
            ["model_id"] = space.ModelId,
            ["revision"] = space.Revision,
            ["dimensions"] = space.Dimensions.ToString(CultureInfo.InvariantCulture),
            ["modalities"] = ((int)space.Modalities).ToString(CultureInfo.InvariantCulture),
            ["created_ticks"] = now,
            ["updated_ticks"] = now,
            ["generation"] = "0",
            ["lexical_generation"] = "0",
            // Ties snapshot files to this database: a recreated collection never adopts an old file.
            ["instance_id"] = Guid.NewGuid().ToString("N"),
        };
        if (space.Family is not null)
        {
            values["family"] = space.Family;
        }
        using SqliteCommand insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT OR IGNORE INTO meta(key, value) VALUES($k, $v)";
        SqliteParameter k = insert.Parameters.Add("$k", SqliteType.Text);
        SqliteParameter v = insert.Parameters.Add("$v", SqliteType.Text);
        foreach (KeyValuePair<string, string> pair in values)
        {
            k.Value = pair.Key;
            v.Value = pair.Value;
            insert.ExecuteNonQuery();
        }

        tx.Commit();
    }

    internal static Dictionary<string, string> ReadMeta(SqliteConnection connection, SqliteTransaction? tx = null)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT key, value FROM meta";
        using SqliteDataReader reader = command.ExecuteReader();
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            meta[reader.GetString(0)] = reader.GetString(1);
        }

        return meta;
    }

    internal static EmbeddingSpace SpaceFromMeta(IReadOnlyDictionary<string, string> meta, string dbPath)
    {
        if (!meta.TryGetValue("schema_version", out string? version) || !int.TryParse(version, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
        {
            throw new CollectionCorruptException($"{dbPath} has no schema version; it is not an Omnivec collection.");
        }

        if (v > SchemaVersion)
        {
            throw new CollectionCorruptException($"{dbPath} uses schema version {v}; this Omnivec understands up to {SchemaVersion}. Upgrade Omnivec.");
        }

        try
        {
            return new EmbeddingSpace(meta["provider"], meta["model_id"], meta["revision"], int.Parse(meta["dimensions"], CultureInfo.InvariantCulture))
            {
                Modalities = (Modalities)int.Parse(meta["modalities"], CultureInfo.InvariantCulture),
                Family = meta.TryGetValue("family", out string? family) ? family : null,
            };
        }
        catch (Exception e) when (e is KeyNotFoundException or FormatException or OverflowException)
        {
            throw new CollectionCorruptException($"{dbPath} has incomplete metadata: {e.Message}", e);
        }
    }

    internal static long ReadGeneration(SqliteConnection connection, SqliteTransaction? tx = null)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Marks a write: every committed change moves the generation, so snapshot files of older generations are stale.</summary>
    internal static long BumpGeneration(SqliteConnection connection, SqliteTransaction tx)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = """
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
            UPDATE meta SET value = $now WHERE key = 'updated_ticks';
            INSERT INTO meta(key, value) SELECT 'lexical_generation', value FROM meta WHERE key = 'generation'
                ON CONFLICT(key) DO UPDATE SET value = excluded.value;
            SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation';
            """;
        command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.UtcTicks.ToString(CultureInfo.InvariantCulture));
        return (long)command.ExecuteScalar()!;
    }

    internal static long Count(SqliteConnection connection)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM items";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Inserts or updates by path; returns the (stable) id.</summary>
    internal sealed class UpsertCommand : IDisposable
    {
        private readonly SqliteCommand _item;
        private readonly SqliteCommand _vector;
        private readonly SqliteCommand _lexical;

        public UpsertCommand(SqliteConnection connection, SqliteTransaction tx)
        {
            _item = connection.CreateCommand();
            _item.Transaction = tx;
            _item.CommandText = """
                INSERT INTO items(path, media_type, size_bytes, modified_ticks, content_hash, width, height, taken_ticks, taken_offset_min, camera, caption, extra)
                VALUES($path, $media, $size, $mtime, $hash, $w, $h, $taken, $takenOff, $camera, $caption, $extra)
                ON CONFLICT(path) DO UPDATE SET
                    media_type = excluded.media_type, size_bytes = excluded.size_bytes, modified_ticks = excluded.modified_ticks,
                    content_hash = excluded.content_hash, width = excluded.width, height = excluded.height,
                    taken_ticks = excluded.taken_ticks, taken_offset_min = excluded.taken_offset_min,
                    camera = excluded.camera, caption = excluded.caption, extra = excluded.extra
                RETURNING id
                """;
            foreach (string name in (string[])["$path", "$media", "$size", "$mtime", "$hash", "$w", "$h", "$taken", "$takenOff", "$camera", "$caption", "$extra"])
            {
                _item.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            _vector = connection.CreateCommand();
            _vector.Transaction = tx;
            _vector.CommandText = "INSERT INTO vectors(id, vector) VALUES($id, $v) ON CONFLICT(id) DO UPDATE SET vector = excluded.vector";
            _vector.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
            _vector.Parameters.Add(new SqliteParameter { ParameterName = "$v", SqliteType = SqliteType.Blob });
            _lexical = CreateLexicalUpsert(connection, tx);
        }

        public long Execute(CollectionItem item, ReadOnlySpan<float> unitVector)
        {
            SqliteParameterCollection p = _item.Parameters;
            p[0].Value = item.Path;
            p[1].Value = item.MediaType;
            p[2].Value = item.SizeBytes;
            p[3].Value = item.ModifiedUtc.UtcTicks;
            p[4].Value = item.ContentHash;
            p[5].Value = item.Width;
            p[6].Value = item.Height;
            p[7].Value = item.TakenAt is { } t ? t.UtcTicks : DBNull.Value;
            p[8].Value = item.TakenAt is { } t2 ? (int)t2.Offset.TotalMinutes : DBNull.Value;
            p[9].Value = (object?)item.Camera ?? DBNull.Value;
            p[10].Value = (object?)item.Caption ?? DBNull.Value;
            p[11].Value = item.Extra is { Count: > 0 } extra ? SerializeExtra(extra) : DBNull.Value;
            long id = (long)_item.ExecuteScalar()!;

            _vector.Parameters[0].Value = id;
            // float32 little-endian (the store refuses big-endian hosts at open).
            _vector.Parameters[1].Value = MemoryMarshal.AsBytes(unitVector).ToArray();
            _vector.ExecuteNonQuery();
            WriteLexical(_lexical, id, item);
            return id;
        }

        public void Dispose()
        {
            _item.Dispose();
            _vector.Dispose();
            _lexical.Dispose();
        }
    }

    internal static CollectionItem? GetItemById(SqliteConnection connection, long id) => GetItem(connection, "i.id = $id", "$id", id);

    internal static CollectionItem? GetItemByPath(SqliteConnection connection, string path) => GetItem(connection, "i.path = $p", "$p", path);

    private static CollectionItem? GetItem(SqliteConnection connection, string where, string name, object value)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT {ItemColumns} FROM items i WHERE {where}";
        command.Parameters.AddWithValue(name, value);
        using SqliteDataReader reader = command.ExecuteReader();
        return reader.Read() ? ReadItem(reader) : null;
    }

    /// <summary>Deletes items (their vectors cascade) by id inside <paramref name="tx"/>; returns the ids that existed.</summary>
    internal static List<long> DeleteByIds(SqliteConnection connection, SqliteTransaction tx, IEnumerable<long> ids, CancellationToken cancellationToken) =>
        DeleteWhere(connection, tx, "id = $x", ids.Cast<object>(), cancellationToken);

    /// <summary>Deletes items (their vectors cascade) by path inside <paramref name="tx"/>; returns the ids that existed.</summary>
    internal static List<long> DeleteByPaths(SqliteConnection connection, SqliteTransaction tx, IEnumerable<string> paths, CancellationToken cancellationToken) =>
        DeleteWhere(connection, tx, "path = $x", paths, cancellationToken);

    private static List<long> DeleteWhere(SqliteConnection connection, SqliteTransaction tx, string where, IEnumerable<object> keys, CancellationToken cancellationToken)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = $"DELETE FROM items WHERE {where} RETURNING id";
        SqliteParameter p = command.Parameters.Add(new SqliteParameter { ParameterName = "$x" });
        using SqliteCommand lexical = connection.CreateCommand();
        lexical.Transaction = tx;
        lexical.CommandText = "DELETE FROM items_fts WHERE rowid = $id";
        SqliteParameter lexicalId = lexical.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
        var deleted = new List<long>();
        foreach (object key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            p.Value = key;
            if (command.ExecuteScalar() is long id)
            {
                deleted.Add(id);
                lexicalId.Value = id;
                lexical.ExecuteNonQuery();
            }
        }

        return deleted;
    }

    private static SqliteCommand CreateLexicalUpsert(SqliteConnection connection, SqliteTransaction tx)
    {
        SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        // FTS5 has no upsert: the old row (if any) goes first.
        command.CommandText = """
            DELETE FROM items_fts WHERE rowid = $id;
            INSERT INTO items_fts(rowid, name, folder, camera, caption) VALUES($id, $name, $folder, $camera, $caption);
            """;
        foreach (string name in (string[])["$id", "$name", "$folder", "$camera", "$caption"])
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    private static void WriteLexical(SqliteCommand command, long id, CollectionItem item)
    {
        LexicalDocument document = LexicalText.Document(item);
        SqliteParameterCollection p = command.Parameters;
        p[0].Value = id;
        p[1].Value = document.Name;
        p[2].Value = document.Folder;
        p[3].Value = document.Camera;
        p[4].Value = document.Caption;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Builds the lexical index of a collection made before it existed, or rebuilds it after a write that did not
    /// maintain it (an older Omnivec): every write moves <c>lexical_generation</c> with <c>generation</c>, so a
    /// difference means the index is stale. One immediate transaction; a no-op when the index is current.
    /// </summary>
    /// <returns>True when the index is current afterwards.</returns>
    internal static bool EnsureLexical(SqliteConnection connection)
    {
        if (LexicalIsCurrent(connection, null))
        {
            return true;
        }

        using SqliteTransaction tx = connection.BeginTransaction(deferred: false);
        if (LexicalIsCurrent(connection, tx))
        {
            return true;
        }

        Execute(connection, LexicalTableSql, tx);
        Execute(connection, "DELETE FROM items_fts", tx);
        using (SqliteCommand read = connection.CreateCommand())
        using (SqliteCommand write = CreateLexicalUpsert(connection, tx))
        {
            read.Transaction = tx;
            read.CommandText = $"SELECT {ItemColumns} FROM items i ORDER BY i.id";
            using SqliteDataReader reader = read.ExecuteReader();
            while (reader.Read())
            {
                CollectionItem item = ReadItem(reader);
                WriteLexical(write, item.Id, item);
            }
        }

        Execute(connection, """
            INSERT INTO meta(key, value) SELECT 'lexical_generation', value FROM meta WHERE key = 'generation'
                ON CONFLICT(key) DO UPDATE SET value = excluded.value;
            """, tx);
        tx.Commit();
        return true;
    }

    private static bool LexicalIsCurrent(SqliteConnection connection, SqliteTransaction? tx)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = """
            SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'items_fts')
               AND (SELECT value FROM meta WHERE key = 'lexical_generation') IS (SELECT value FROM meta WHERE key = 'generation')
            """;
        return (long)command.ExecuteScalar()! == 1;
    }

    /// <summary>One pass of the lexical search: <paramref name="columns"/> and the BM25 rank of the items matching the query (every word when <paramref name="all"/>), best first.</summary>
    private static SqliteCommand LexicalCommand(SqliteConnection connection, LexicalQuery query, string columns, string where, List<(string, object)> parameters, bool all, int limit)
    {
        SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {columns}, {LexicalRank} AS rank FROM items_fts JOIN items i ON i.id = items_fts.rowid
            WHERE items_fts MATCH $q AND {where} ORDER BY rank, i.id LIMIT $top
            """;
        command.Parameters.AddWithValue("$q", query.ToFts5(all));
        command.Parameters.AddWithValue("$top", limit);
        foreach ((string n, object v) in parameters)
        {
            command.Parameters.AddWithValue(n, v);
        }

        return command;
    }

    /// <summary>
    /// The lexical search of <see cref="IVectorCollection.SearchText"/>: the items that contain every word first, then
    /// those with some, each by BM25; <paramref name="filter"/> is applied in SQL.
    /// </summary>
    internal static List<TextHit> SearchText(SqliteConnection connection, LexicalQuery query, int top, SearchFilter? filter)
    {
        (string where, List<(string, object)> parameters) = FilterSql(filter);
        return query.Collect(top, (all, limit) => LexicalCommand(connection, query, ItemColumns, where, parameters, all, limit), reader => (ReadItem(reader), -reader.GetDouble(13))); // bm25() is lower for better matches.
    }

    /// <summary>
    /// <see cref="SearchText"/>'s hits as ids only: the same query, order and limits, without reading the records (no
    /// item columns go through the sorter). <paramref name="allWordsOnly"/> stops after the all-words pass.
    /// </summary>
    internal static List<TextScore> SearchTextScores(SqliteConnection connection, LexicalQuery query, int top, SearchFilter? filter, bool allWordsOnly)
    {
        (string where, List<(string, object)> parameters) = FilterSql(filter);
        return query.Collect(top, (all, limit) => LexicalCommand(connection, query, "i.id", where, parameters, all, limit), static (reader, all) => new TextScore(reader.GetInt64(0), -reader.GetDouble(1), all), static hit => hit.Id, allWordsOnly);
    }

    /// <summary>A <see cref="SearchFilter"/> as SQL over the items table aliased <c>i</c>.</summary>
    private static (string Where, List<(string, object)> Parameters) FilterSql(SearchFilter? filter)
    {
        var clauses = new List<string>();
        var parameters = new List<(string, object)>();
        if (filter is not null)
        {
            if (filter.PathPrefix is { } prefix)
            {
                clauses.Add("substr(i.path, 1, length($f_path)) = $f_path");
                parameters.Add(("$f_path", prefix));
            }

            if (filter.From is { } from)
            {
                clauses.Add("coalesce(i.taken_ticks, i.modified_ticks) >= $f_from");
                parameters.Add(("$f_from", from.UtcTicks));
            }

            if (filter.To is { } to)
            {
                clauses.Add("coalesce(i.taken_ticks, i.modified_ticks) <= $f_to");
                parameters.Add(("$f_to", to.UtcTicks));
            }

            if (filter.MediaType is { } media)
            {
                clauses.Add("lower(substr(i.media_type, 1, length($f_media))) = lower($f_media)");
                parameters.Add(("$f_media", media));
            }

            if (filter.MinWidth is { } w)
            {
                clauses.Add("i.width >= $f_w");
                parameters.Add(("$f_w", w));
            }

            if (filter.MinHeight is { } h)
            {
                clauses.Add("i.height >= $f_h");
                parameters.Add(("$f_h", h));
            }

            if (filter.MinSizeBytes is { } size)
            {
                clauses.Add("i.size_bytes >= $f_size");
                parameters.Add(("$f_size", size));
            }
        }

        return (clauses.Count == 0 ? "1" : string.Join(" AND ", clauses), parameters);
    }

    internal static void SetIndexState(SqliteConnection connection, string key, string value)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "INSERT INTO index_state(key, value) VALUES($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
        command.Parameters.AddWithValue("$k", key);
        command.Parameters.AddWithValue("$v", value);
        command.ExecuteNonQuery();
    }

    internal static string? GetIndexState(SqliteConnection connection, string key)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM index_state WHERE key = $k";
        command.Parameters.AddWithValue("$k", key);
        return command.ExecuteScalar() as string;
    }

    /// <summary>Streams items with their vectors in id order, from the first id above <paramref name="afterId"/>.</summary>
    internal static IEnumerable<(CollectionItem Item, float[] Vector)> EnumerateWithVectors(SqliteConnection connection, long afterId, int dimensions)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT {ItemColumns}, v.vector FROM items i JOIN vectors v ON v.id = i.id WHERE i.id > $after ORDER BY i.id";
        command.Parameters.AddWithValue("$after", afterId);
        using SqliteDataReader reader = command.ExecuteReader();
        byte[] scratch = new byte[dimensions * sizeof(float)];
        while (reader.Read())
        {
            CollectionItem item = ReadItem(reader);
            var vector = new float[dimensions];
            ReadVector(reader, 13, vector, scratch);
            yield return (item, vector);
        }
    }

    internal static float[]? GetVector(SqliteConnection connection, long id, int dimensions)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT vector FROM vectors WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        using SqliteDataReader reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var vector = new float[dimensions];
        ReadVector(reader, 0, vector, new byte[dimensions * sizeof(float)]);
        return vector;
    }

    /// <summary>Copies a vector BLOB into <paramref name="destination"/>; a BLOB of the wrong size means corruption.</summary>
    internal static void ReadVector(SqliteDataReader reader, int ordinal, Span<float> destination, byte[] scratch)
    {
        long length = reader.GetBytes(ordinal, 0, null, 0, 0);
        if (length != scratch.Length)
        {
            throw new CollectionCorruptException($"A stored vector has {length} bytes, expected {scratch.Length}.");
        }

        reader.GetBytes(ordinal, 0, scratch, 0, scratch.Length);
        MemoryMarshal.Cast<byte, float>(scratch).CopyTo(destination);
    }

    /// <summary>Streams items (no vectors) in path order, optionally only those whose path starts with <paramref name="pathPrefix"/>.</summary>
    internal static IEnumerable<CollectionItem> EnumerateItems(SqliteConnection connection, string? pathPrefix)
    {
        using SqliteCommand command = connection.CreateCommand();
        // Paths with a given prefix are one contiguous range in SQLite's BINARY (UTF-8 memcmp) order,
        // so an index range scan from the prefix, stopped at the first non-match, is exact.
        command.CommandText = pathPrefix is null
            ? $"SELECT {ItemColumns} FROM items i ORDER BY i.path"
            : $"SELECT {ItemColumns} FROM items i WHERE i.path >= $p ORDER BY i.path";
        if (pathPrefix is not null)
        {
            command.Parameters.AddWithValue("$p", pathPrefix);
        }

        using SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            CollectionItem item = ReadItem(reader);
            if (pathPrefix is not null && !item.Path.StartsWith(pathPrefix, StringComparison.Ordinal))
            {
                yield break;
            }

            yield return item;
        }
    }

    /// <summary>Reads every item with its vector inside <paramref name="tx"/>; the caller's callback places each.</summary>
    internal static void ReadAll(SqliteConnection connection, SqliteTransaction tx, bool withVectors, int dimensions, Action<CollectionItem, ReadOnlySpan<float>> onItem)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = withVectors
            ? $"SELECT {ItemColumns}, v.vector FROM items i JOIN vectors v ON v.id = i.id ORDER BY i.id"
            : $"SELECT {ItemColumns} FROM items i ORDER BY i.id";
        using SqliteDataReader reader = command.ExecuteReader();
        byte[] scratch = new byte[dimensions * sizeof(float)];
        float[] vector = withVectors ? new float[dimensions] : [];
        while (reader.Read())
        {
            CollectionItem item = ReadItem(reader);
            if (withVectors)
            {
                ReadVector(reader, 13, vector, scratch);
            }

            onItem(item, vector);
        }
    }

    /// <summary>Reads every vector with its item's id inside <paramref name="tx"/>, in id order, without the item records (nothing allocated per row).</summary>
    internal static void ReadAllVectors(SqliteConnection connection, SqliteTransaction tx, int dimensions, Action<long, ReadOnlySpan<float>> onVector)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT v.id, v.vector FROM items i JOIN vectors v ON v.id = i.id ORDER BY i.id";
        using SqliteDataReader reader = command.ExecuteReader();
        byte[] scratch = new byte[dimensions * sizeof(float)];
        float[] vector = new float[dimensions];
        while (reader.Read())
        {
            ReadVector(reader, 1, vector, scratch);
            onVector(reader.GetInt64(0), vector);
        }
    }

    /// <summary>Reads the items of <paramref name="ids"/> (in any order; ids without an item are skipped) inside <paramref name="tx"/>.</summary>
    internal static void ReadItems(SqliteConnection connection, SqliteTransaction? tx, IReadOnlyList<long> ids, Action<CollectionItem> onItem)
    {
        const int Batch = 4096;
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = $"SELECT {ItemColumns} FROM items i WHERE i.id IN (SELECT value FROM json_each($ids))";
        SqliteParameter parameter = command.Parameters.Add("$ids", SqliteType.Text);
        for (int start = 0; start < ids.Count; start += Batch)
        {
            var json = new System.Text.StringBuilder("[");
            for (int i = start; i < Math.Min(ids.Count, start + Batch); i++)
            {
                json.Append(i > start ? "," : "").Append(ids[i].ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            parameter.Value = json.Append(']').ToString();
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                onItem(ReadItem(reader));
            }
        }
    }

    /// <summary>Count, sum, smallest and largest id of the items (zeros when empty): a cheap fingerprint of which ids exist.</summary>
    internal static (long Count, long Sum, long Min, long Max) IdSummary(SqliteConnection connection, SqliteTransaction tx)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT count(*), coalesce(sum(id), 0), coalesce(min(id), 0), coalesce(max(id), 0) FROM items";
        using SqliteDataReader reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    /// <summary>One item from a row whose first 13 columns are the item columns in table order; both stores read items with it.</summary>
    internal static CollectionItem ReadItem(System.Data.Common.DbDataReader r)
    {
        DateTimeOffset? taken = null;
        if (!r.IsDBNull(8))
        {
            var offset = TimeSpan.FromMinutes(r.IsDBNull(9) ? 0 : r.GetInt32(9));
            taken = new DateTimeOffset(r.GetInt64(8), TimeSpan.Zero).ToOffset(offset);
        }

        return new CollectionItem
        {
            Id = r.GetInt64(0),
            Path = r.GetString(1),
            MediaType = r.GetString(2),
            SizeBytes = r.GetInt64(3),
            ModifiedUtc = new DateTimeOffset(r.GetInt64(4), TimeSpan.Zero),
            ContentHash = r.GetString(5),
            Width = r.GetInt32(6),
            Height = r.GetInt32(7),
            TakenAt = taken,
            Camera = r.IsDBNull(10) ? null : r.GetString(10),
            Caption = r.IsDBNull(11) ? null : r.GetString(11),
            Extra = r.IsDBNull(12) ? null : DeserializeExtra(r.GetString(12)),
        };
    }

    internal static int Execute(SqliteConnection connection, string sql, SqliteTransaction? tx = null)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    private static string SerializeExtra(IReadOnlyDictionary<string, string> extra)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (KeyValuePair<string, string> pair in extra)
            {
                writer.WriteString(pair.Key, pair.Value);
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static Dictionary<string, string> DeserializeExtra(string json)
    {
        using var document = JsonDocument.Parse(json);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty property in document.RootElement.EnumerateObject())
        {
            result[property.Name] = property.Value.GetString() ?? "";
        }

        return result;
    }
}
