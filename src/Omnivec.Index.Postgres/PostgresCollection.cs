using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Omnivec.Index.Hnsw;
using Omnivec.Index.Search;
using Pgvector;

namespace Omnivec.Index.Postgres;

/// <summary>
/// One collection in PostgreSQL. Stateless apart from settings: every call is one short transaction on a pooled
/// connection, so any number of processes may use the same collection at once.
/// </summary>
internal sealed class PostgresCollection : IVectorCollection
{
    private const string ItemColumns =
        "id, path, media_type, size_bytes, modified_ticks, content_hash, width, height, taken_ticks, taken_offset_min, camera, caption, extra";

    // pgvector's bound for hnsw.ef_search.
    private const int MaxEfSearch = 1000;
    private const int PageSize = 1000;
    private const int ExactDuplicatePairsLimit = 3_000;

    private readonly PostgresStore _store;
    private readonly CollectionRecord _record;
    private int _searchExpansion = Collection.DefaultSearchExpansion;
    private int _buildExpansion;
    private bool _disposed;

    public PostgresCollection(PostgresStore store, CollectionRecord record)
    {
        _store = store;
        _record = record;
        _buildExpansion = store.Options.HnswEfConstruction;
        EnsureLexical();
    }

    public string Name => _record.Name;

    public EmbeddingSpace Space => _record.Space;

    public long Count => Query(connection => Scalar<long>(connection, null, $"SELECT count(*) FROM {_record.Table}"));

    public int ApproximateThreshold { get; set; } = Collection.DefaultApproximateThreshold;

    public int SearchExpansion
    {
        get => _searchExpansion;
        set => _searchExpansion = Collection.ValidateExpansion(value, nameof(SearchExpansion));
    }

    public int BuildExpansion
    {
        get => _buildExpansion;
        set => _buildExpansion = Collection.ValidateExpansion(value, nameof(BuildExpansion));
    }

    private string QueryParameter => _record.IsHalf ? $"@q::halfvec({Space.Dimensions})" : "@q";

    public IReadOnlyList<long> Upsert(IReadOnlyList<CollectionItem> items, IReadOnlyList<ReadOnlyMemory<float>> vectors, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(vectors);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int dims = Space.Dimensions;
        float[] unit = Collection.NormalizeBatch(items, vectors, dims);
        if (items.Count == 0)
        {
            return [];
        }

        return _store.Retry.Run(ct =>
        {
            ct.ThrowIfCancellationRequested();
            using NpgsqlConnection connection = _store.OpenConnection();
            using NpgsqlTransaction tx = connection.BeginTransaction();
            PostgresStore.Execute(connection, tx, $"""
                CREATE TEMP TABLE omnivec_load(
                    path text COLLATE "C", media_type text, size_bytes bigint, modified_ticks bigint, content_hash text, width integer, height integer,
                    taken_ticks bigint, taken_offset_min integer, camera text, caption text, extra jsonb, embedding vector({dims}),
                    lex_name text, lex_folder text, lex_camera text, lex_caption text) ON COMMIT DROP
                """);
            using (NpgsqlBinaryImporter writer = connection.BeginBinaryImport(
                "COPY omnivec_load(path, media_type, size_bytes, modified_ticks, content_hash, width, height, taken_ticks, taken_offset_min, camera, caption, extra, embedding, " +
                "lex_name, lex_folder, lex_camera, lex_caption) FROM STDIN (FORMAT BINARY)"))
            {
                for (int i = 0; i < items.Count; i++)
                {
                    ct.ThrowIfCancellationRequested();
                    CollectionItem item = items[i];
                    writer.StartRow();
                    writer.Write(item.Path, NpgsqlDbType.Text);
                    writer.Write(item.MediaType, NpgsqlDbType.Text);
                    writer.Write(item.SizeBytes, NpgsqlDbType.Bigint);
                    writer.Write(item.ModifiedUtc.UtcTicks, NpgsqlDbType.Bigint);
                    writer.Write(item.ContentHash, NpgsqlDbType.Text);
                    writer.Write(item.Width, NpgsqlDbType.Integer);
                    writer.Write(item.Height, NpgsqlDbType.Integer);
                    if (item.TakenAt is { } taken)
                    {
                        writer.Write(taken.UtcTicks, NpgsqlDbType.Bigint);
                        writer.Write((int)taken.Offset.TotalMinutes, NpgsqlDbType.Integer);
                    }
                    else
                    {
                        writer.WriteNull();
                        writer.WriteNull();
                    }

                    WriteNullable(writer, item.Camera, NpgsqlDbType.Text);
                    WriteNullable(writer, item.Caption, NpgsqlDbType.Text);
                    WriteNullable(writer, item.Extra is { Count: > 0 } extra ? JsonSerializer.Serialize(extra) : null, NpgsqlDbType.Jsonb);
                    writer.Write(new Vector(unit.AsMemory(i * dims, dims)), "vector");
                    LexicalDocument lexical = LexicalText.Document(item);
                    writer.Write(lexical.Name, NpgsqlDbType.Text);
                    writer.Write(lexical.Folder, NpgsqlDbType.Text);
                    writer.Write(lexical.Camera, NpgsqlDbType.Text);
                    writer.Write(lexical.Caption, NpgsqlDbType.Text);
                }

                writer.Complete();
            }

            string embedding = _record.IsHalf ? $"embedding::halfvec({dims})" : "embedding";
            var idOf = new Dictionary<string, long>(items.Count, StringComparer.Ordinal);
            using (var insert = new NpgsqlCommand($"""
                INSERT INTO {_record.Table}(path, media_type, size_bytes, modified_ticks, content_hash, width, height, taken_ticks, taken_offset_min, camera, caption, extra, embedding, lexical)
                SELECT path, media_type, size_bytes, modified_ticks, content_hash, width, height, taken_ticks, taken_offset_min, camera, caption, extra, {embedding},
                    {LexicalVector("lex_name", "lex_folder", "lex_camera", "lex_caption")}
                FROM omnivec_load ORDER BY path
                ON CONFLICT (path) DO UPDATE SET
                    media_type = excluded.media_type, size_bytes = excluded.size_bytes, modified_ticks = excluded.modified_ticks,
                    content_hash = excluded.content_hash, width = excluded.width, height = excluded.height,
                    taken_ticks = excluded.taken_ticks, taken_offset_min = excluded.taken_offset_min,
                    camera = excluded.camera, caption = excluded.caption, extra = excluded.extra, embedding = excluded.embedding,
                    lexical = excluded.lexical
                RETURNING id, path
                """, connection, tx))
            using (NpgsqlDataReader reader = insert.ExecuteReader())
            {
                while (reader.Read())
                {
                    idOf[reader.GetString(1)] = reader.GetInt64(0);
                }
            }

            TouchUpdated(connection, tx);
            tx.Commit();
            var ids = new long[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                ids[i] = idOf[items[i].Path];
            }

            return (IReadOnlyList<long>)ids;
        }, cancellationToken);
    }

    public bool Delete(long id)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Write((connection, tx) => PostgresStore.Execute(connection, tx, $"DELETE FROM {_record.Table} WHERE id = @id", ("id", id)), CancellationToken.None) > 0;
    }

    public int DeleteByPaths(IEnumerable<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ObjectDisposedException.ThrowIf(_disposed, this);
        string[] distinct = paths.Distinct(StringComparer.Ordinal).ToArray();
        return distinct.Length == 0
            ? 0
            : Write((connection, tx) => PostgresStore.Execute(connection, tx, $"DELETE FROM {_record.Table} WHERE path = ANY(@paths)", ("paths", distinct)), cancellationToken);
    }

    public CollectionItem? Get(long id) => Query(connection => ReadItems(connection, $"SELECT {ItemColumns} FROM {_record.Table} WHERE id = @id", ("id", id)).FirstOrDefault());

    public IReadOnlyList<CollectionItem?> GetItems(IReadOnlyList<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            return [];
        }

        Dictionary<long, CollectionItem> byId = Query(connection => ReadItems(connection, $"SELECT {ItemColumns} FROM {_record.Table} WHERE id = ANY(@ids)", ("ids", ids.ToArray())))
            .ToDictionary(item => item.Id);
        return [.. ids.Select(id => byId.GetValueOrDefault(id))];
    }

    public CollectionItem? FindByPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Query(connection => ReadItems(connection, $"SELECT {ItemColumns} FROM {_record.Table} WHERE path = @p", ("p", path)).FirstOrDefault());
    }

    public IEnumerable<CollectionItem> Items(string? pathPrefix = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Pages by path (keyset), so no connection or transaction is held while the caller works through them.
        string after = "";
        bool first = true;
        while (true)
        {
            string where = (first ? "true" : "path > @after") + (pathPrefix is null ? "" : " AND starts_with(path, @prefix)");
            List<CollectionItem> page = Query(connection => ReadItems(connection,
                $"SELECT {ItemColumns} FROM {_record.Table} WHERE {where} ORDER BY path LIMIT {PageSize}",
                ("after", after), ("prefix", pathPrefix ?? "")));
            foreach (CollectionItem item in page)
            {
                yield return item;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            first = false;
            after = page[^1].Path;
        }
    }

    public IEnumerable<(CollectionItem Item, float[] Vector)> ItemsWithVectors(long afterId = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long after = afterId;
        while (true)
        {
            List<(CollectionItem, float[])> page = Query(connection =>
            {
                using var command = new NpgsqlCommand($"SELECT {ItemColumns}, embedding::vector FROM {_record.Table} WHERE id > @after ORDER BY id LIMIT {PageSize}", connection);
                command.Parameters.AddWithValue("after", after);
                using NpgsqlDataReader reader = command.ExecuteReader();
                var rows = new List<(CollectionItem, float[])>();
                while (reader.Read())
                {
                    rows.Add((ReadItem(reader), reader.GetFieldValue<Vector>(13).ToArray()));
                }

                return rows;
            });
            foreach ((CollectionItem, float[]) row in page)
            {
                yield return row;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            after = page[^1].Item1.Id;
        }
    }

    public float[]? GetVector(long id) => Query(connection =>
    {
        using var command = new NpgsqlCommand($"SELECT embedding::vector FROM {_record.Table} WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", id);
        return command.ExecuteScalar() is Vector v ? v.ToArray() : null;
    });

    public IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> query, int top = 10, SearchFilter? filter = null, SearchMode mode = SearchMode.Auto, int? expansion = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Collection.ValidateTop(top);
        int ef = expansion is { } e ? Collection.ValidateExpansion(e, nameof(expansion)) : _searchExpansion;
        float[] q = new float[Space.Dimensions];
        Collection.NormalizeInto(query, q, "query vector");
        long started = IndexTelemetry.StartTimer();
        using System.Diagnostics.Activity? activity = IndexTelemetry.StartSearch(IndexTelemetry.Postgres, Name, mode, 1, top);
        IReadOnlyList<SearchHit> hits = SearchMany([q], top, filter, mode, ef)[0];
        IndexTelemetry.RecordSearch(started, IndexTelemetry.Postgres, mode);
        return hits;
    }

    public IReadOnlyList<IReadOnlyList<SearchHit>> SearchBatch(IReadOnlyList<ReadOnlyMemory<float>> queries, int top = 10, SearchFilter? filter = null,
        SearchMode mode = SearchMode.Auto, int? expansion = null)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Collection.ValidateTop(top);
        int ef = expansion is { } e ? Collection.ValidateExpansion(e, nameof(expansion)) : _searchExpansion;
        var unit = new float[queries.Count][];
        for (int i = 0; i < queries.Count; i++)
        {
            unit[i] = new float[Space.Dimensions];
            Collection.NormalizeInto(queries[i].Span, unit[i], $"query vector {i}");
        }

        if (unit.Length == 0)
        {
            return [];
        }

        long started = IndexTelemetry.StartTimer();
        using System.Diagnostics.Activity? activity = IndexTelemetry.StartSearch(IndexTelemetry.Postgres, Name, mode, unit.Length, top);
        IReadOnlyList<IReadOnlyList<SearchHit>> hits = SearchMany(unit, top, filter, mode, ef);
        IndexTelemetry.RecordSearch(started, IndexTelemetry.Postgres, mode);
        return hits;
    }

    public IReadOnlyList<TextHit> SearchText(string text, int top = 10, SearchFilter? filter = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Collection.ValidateTop(top);
        LexicalQuery query = LexicalText.Parse(text);
        if (query.IsEmpty)
        {
            return [];
        }

        return Query(connection =>
        {
            (string where, List<(string, object)> parameters) = FilterSql(filter);
            return (IReadOnlyList<TextHit>)query.Collect(top, (all, limit) =>
            {
                var command = new NpgsqlCommand($"""
                    SELECT {ItemColumns}, ts_rank('{LexicalWeights}', lexical, @q::tsquery, 1) AS rank FROM {_record.Table}
                    WHERE lexical @@ @q::tsquery AND {where} ORDER BY rank DESC, id LIMIT @top
                    """, connection);
                command.Parameters.AddWithValue("q", query.ToTsQuery(all));
                command.Parameters.AddWithValue("top", limit);
                foreach ((string n, object v) in parameters)
                {
                    command.Parameters.AddWithValue(n, v);
                }

                return command;
            }, reader => (Storage.CollectionDb.ReadItem(reader), reader.GetFloat(13)));
        });
    }

    public IReadOnlyList<DuplicateGroup> FindDuplicates(float threshold = 0.95f, SearchFilter? filter = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Collection.ValidateThreshold(threshold);
        // The pairs are found in memory over the allowed rows, by the embedded store's own duplicate finder.
        using var matrix = new VectorMatrix(Space.Dimensions, 1024);
        _store.Retry.Run(ct =>
        {
            using NpgsqlConnection connection = _store.OpenConnection();
            (string where, List<(string, object)> parameters) = FilterSql(filter);
            using var command = new NpgsqlCommand($"SELECT {ItemColumns}, embedding::vector FROM {_record.Table} WHERE {where} ORDER BY id", connection);
            foreach ((string n, object v) in parameters)
            {
                command.Parameters.AddWithValue(n, v);
            }

            using NpgsqlDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                ct.ThrowIfCancellationRequested();
                matrix.Upsert(ReadItem(reader), reader.GetFieldValue<Vector>(13).ToArray());
            }

            return true;
        }, cancellationToken);

        List<int> rows = [.. Enumerable.Range(0, matrix.Count)];
        if (rows.Count <= ExactDuplicatePairsLimit)
        {
            return Duplicates.Find(matrix, rows, null, threshold, null, 16);
        }

        using HnswIndex graph = HnswIndex.Build(matrix, _buildExpansion, cancellationToken: cancellationToken);
        return Duplicates.Find(matrix, rows, null, threshold, graph, 16);
    }

    public void SetIndexState(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        Write((connection, tx) => PostgresStore.Execute(connection, tx, """
            INSERT INTO omnivec_index_state(collection_id, key, value) VALUES(@c, @k, @v)
            ON CONFLICT (collection_id, key) DO UPDATE SET value = excluded.value
            """, ("c", _record.Id), ("k", key), ("v", value)), CancellationToken.None);
    }

    public string? GetIndexState(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return Query(connection =>
        {
            using var command = new NpgsqlCommand("SELECT value FROM omnivec_index_state WHERE collection_id = @c AND key = @k", connection);
            command.Parameters.AddWithValue("c", _record.Id);
            command.Parameters.AddWithValue("k", key);
            return command.ExecuteScalar() as string;
        });
    }

    /// <summary>Refreshes the planner's statistics and builds the HNSW index once the collection reaches <see cref="ApproximateThreshold"/>.</summary>
    public void Optimize(CancellationToken cancellationToken = default) => Optimize(forceHnsw: false, cancellationToken);

    internal void Optimize(bool forceHnsw, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _store.Retry.Run(ct =>
        {
            ct.ThrowIfCancellationRequested();
            using NpgsqlConnection connection = _store.OpenConnection();
            PostgresStore.Execute(connection, null, $"ANALYZE {_record.Table}");
            if (forceHnsw || Scalar<long>(connection, null, $"SELECT count(*) FROM {_record.Table}") >= ApproximateThreshold)
            {
                EnsureHnswIndex(connection, ct);
            }

            return true;
        }, cancellationToken);
    }

    public void Dispose() => _disposed = true;

    /// <summary>
    /// ts_rank weights {D, C, B, A}: folder, caption, camera, file name. The rank is called with normalization 1
    /// (divided by 1 + log of the document's length), so that, as with the embedded store's BM25, a match in a shorter
    /// name ranks higher ("bananas.jpg" before "bananas copy.jpg").
    /// </summary>
    private const string LexicalWeights = "{0.2, 0.3, 0.5, 1.0}";

    /// <summary>
    /// The lexical tsvector from already tokenized fields (<see cref="LexicalText"/>): 'simple' keeps each token as
    /// it is; the weights (A name, B camera, C caption, D folder) let ts_rank prefer a match in the file name.
    /// </summary>
    private static string LexicalVector(string name, string folder, string camera, string caption) =>
        $"setweight(to_tsvector('simple', coalesce({name}, '')), 'A') || setweight(to_tsvector('simple', coalesce({camera}, '')), 'B') || " +
        $"setweight(to_tsvector('simple', coalesce({caption}, '')), 'C') || setweight(to_tsvector('simple', coalesce({folder}, '')), 'D')";

    /// <summary>
    /// Adds the lexical column and its GIN index to a collection table made before they existed, and fills it for rows
    /// without one (made before, or written by an older Omnivec): a migration on open, under an advisory lock.
    /// </summary>
    private void EnsureLexical()
    {
        _store.Retry.Run(_ =>
        {
            using NpgsqlConnection connection = _store.OpenConnection();
            bool hasColumn = Scalar<bool>(connection, null,
                $"SELECT EXISTS(SELECT 1 FROM pg_attribute WHERE attrelid = '{_record.Table}'::regclass AND attname = 'lexical' AND NOT attisdropped)");
            if (hasColumn && !Scalar<bool>(connection, null, $"SELECT EXISTS(SELECT 1 FROM {_record.Table} WHERE lexical IS NULL)"))
            {
                return true;
            }

            using NpgsqlTransaction tx = connection.BeginTransaction();
            PostgresStore.Execute(connection, tx, "SELECT pg_advisory_xact_lock(hashtext('omnivec.lexical:' || @t))", ("t", _record.Table));
            PostgresStore.Execute(connection, tx, $"""
                ALTER TABLE {_record.Table} ADD COLUMN IF NOT EXISTS lexical tsvector;
                CREATE INDEX IF NOT EXISTS {_record.Table}_lexical ON {_record.Table} USING gin (lexical);
                CREATE INDEX IF NOT EXISTS {_record.Table}_lexical_missing ON {_record.Table} (id) WHERE lexical IS NULL;
                """);
            while (true)
            {
                var rows = new List<(long Id, CollectionItem Item)>();
                using (var read = new NpgsqlCommand($"SELECT {ItemColumns} FROM {_record.Table} WHERE lexical IS NULL ORDER BY id LIMIT {PageSize}", connection, tx))
                using (NpgsqlDataReader reader = read.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        CollectionItem item = ReadItem(reader);
                        rows.Add((item.Id, item));
                    }
                }

                if (rows.Count == 0)
                {
                    break;
                }

                LexicalDocument[] documents = [.. rows.Select(r => LexicalText.Document(r.Item))];
                using var update = new NpgsqlCommand($"""
                    UPDATE {_record.Table} t SET lexical = {LexicalVector("u.name", "u.folder", "u.camera", "u.caption")}
                    FROM unnest(@ids, @names, @folders, @cameras, @captions) AS u(id, name, folder, camera, caption)
                    WHERE t.id = u.id
                    """, connection, tx);
                update.Parameters.AddWithValue("ids", rows.Select(r => r.Id).ToArray());
                update.Parameters.AddWithValue("names", documents.Select(d => d.Name).ToArray());
                update.Parameters.AddWithValue("folders", documents.Select(d => d.Folder).ToArray());
                update.Parameters.AddWithValue("cameras", documents.Select(d => d.Camera).ToArray());
                update.Parameters.AddWithValue("captions", documents.Select(d => d.Caption).ToArray());
                update.ExecuteNonQuery();
            }

            tx.Commit();
            return true;
        }, CancellationToken.None);
    }

    private static void WriteNullable(NpgsqlBinaryImporter writer, string? value, NpgsqlDbType type)
    {
        if (value is null)
        {
            writer.WriteNull();
        }
        else
        {
            writer.Write(value, type);
        }
    }

    private void EnsureHnswIndex(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (HasHnswIndex(connection))
        {
            return;
        }

        string ops = _record.IsHalf ? "halfvec_ip_ops" : "vector_ip_ops";
        using var command = new NpgsqlCommand(
            $"CREATE INDEX IF NOT EXISTS {_record.IndexName} ON {_record.Table} USING hnsw (embedding {ops}) WITH (m = {Math.Clamp(_store.Options.HnswM, 2, 100)}, ef_construction = {_buildExpansion})",
            connection) { CommandTimeout = 0 };
        try
        {
            command.ExecuteNonQueryAsync(cancellationToken).GetAwaiter().GetResult();
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.UniqueViolation)
        {
            // Another process built it at the same moment.
        }
    }

    private bool HasHnswIndex(NpgsqlConnection connection)
    {
        using var command = new NpgsqlCommand("SELECT to_regclass(@name) IS NOT NULL", connection);
        command.Parameters.AddWithValue("name", _record.IndexName);
        return (bool)command.ExecuteScalar()!;
    }

    private IReadOnlyList<SearchHit>[] SearchMany(float[][] queries, int top, SearchFilter? filter, SearchMode mode, int ef)
    {
        return _store.Retry.Run(ct =>
        {
            using NpgsqlConnection connection = _store.OpenConnection();
            bool approximate = mode switch
            {
                SearchMode.Exact => false,
                SearchMode.Approximate => true,
                _ => HasHnswIndex(connection) && Scalar<long>(connection, null,
                    $"SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = '{_record.Table}'::regclass") >= ApproximateThreshold,
            };
            if (approximate)
            {
                EnsureHnswIndex(connection, ct);
            }

            (string where, List<(string, object)> parameters) = FilterSql(filter);
            using NpgsqlTransaction tx = connection.BeginTransaction();
            if (approximate)
            {
                // ef per query (SET LOCAL ends with the transaction); iterative scans keep a filtered walk going until
                // enough rows pass; relaxed order is re-sorted below.
                int efSearch = Math.Clamp(Math.Max(ef, top), 1, MaxEfSearch);
                PostgresStore.Execute(connection, tx, $"SET LOCAL hnsw.ef_search = {efSearch.ToString(CultureInfo.InvariantCulture)}");
                PostgresStore.Execute(connection, tx, "SET LOCAL hnsw.iterative_scan = relaxed_order");
            }
            else
            {
                PostgresStore.Execute(connection, tx, "SET LOCAL enable_indexscan = off");
            }

            string sql = $"""
                WITH hits AS MATERIALIZED (
                    SELECT {ItemColumns}, embedding <#> {QueryParameter} AS distance FROM {_record.Table}
                    WHERE {where} ORDER BY embedding <#> {QueryParameter} LIMIT {top.ToString(CultureInfo.InvariantCulture)})
                SELECT * FROM hits ORDER BY distance, id
                """;
            var results = new IReadOnlyList<SearchHit>[queries.Length];
            using var command = new NpgsqlCommand(sql, connection, tx);
            foreach ((string n, object v) in parameters)
            {
                command.Parameters.AddWithValue(n, v);
            }

            NpgsqlParameter q = command.Parameters.AddWithValue("q", new Vector(queries[0]));
            for (int i = 0; i < queries.Length; i++)
            {
                q.Value = new Vector(queries[i]);
                var hits = new List<SearchHit>(top);
                using (NpgsqlDataReader reader = command.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        hits.Add(new SearchHit(ReadItem(reader), -(float)reader.GetDouble(13)));
                    }
                }

                results[i] = hits;
            }

            tx.Commit();
            return results;
        }, CancellationToken.None);
    }

    private static (string Where, List<(string, object)> Parameters) FilterSql(SearchFilter? filter)
    {
        var clauses = new List<string>();
        var parameters = new List<(string, object)>();
        if (filter is not null)
        {
            if (filter.PathPrefix is { } prefix)
            {
                clauses.Add("starts_with(path, @f_path)");
                parameters.Add(("f_path", prefix));
            }

            if (filter.From is { } from)
            {
                clauses.Add("when_ticks >= @f_from");
                parameters.Add(("f_from", from.UtcTicks));
            }

            if (filter.To is { } to)
            {
                clauses.Add("when_ticks <= @f_to");
                parameters.Add(("f_to", to.UtcTicks));
            }

            if (filter.MediaType is { } media)
            {
                clauses.Add("starts_with(lower(media_type), lower(@f_media))");
                parameters.Add(("f_media", media));
            }

            if (filter.MinWidth is { } w)
            {
                clauses.Add("width >= @f_w");
                parameters.Add(("f_w", w));
            }

            if (filter.MinHeight is { } h)
            {
                clauses.Add("height >= @f_h");
                parameters.Add(("f_h", h));
            }

            if (filter.MinSizeBytes is { } size)
            {
                clauses.Add("size_bytes >= @f_size");
                parameters.Add(("f_size", size));
            }
        }

        return (clauses.Count == 0 ? "true" : string.Join(" AND ", clauses), parameters);
    }

    /// <summary>Moves the catalog's updated_at, at most every few seconds (so concurrent writers rarely wait on that row).</summary>
    private void TouchUpdated(NpgsqlConnection connection, NpgsqlTransaction tx) =>
        PostgresStore.Execute(connection, tx, "UPDATE omnivec_collections SET updated_at = now() WHERE id = @id AND updated_at < now() - interval '5 seconds'", ("id", _record.Id));

    private T Query<T>(Func<NpgsqlConnection, T> read)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _store.Retry.Run(_ =>
        {
            using NpgsqlConnection connection = _store.OpenConnection();
            return read(connection);
        }, CancellationToken.None);
    }

    private int Write(Func<NpgsqlConnection, NpgsqlTransaction, int> write, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _store.Retry.Run(ct =>
        {
            ct.ThrowIfCancellationRequested();
            using NpgsqlConnection connection = _store.OpenConnection();
            using NpgsqlTransaction tx = connection.BeginTransaction();
            int n = write(connection, tx);
            if (n > 0)
            {
                TouchUpdated(connection, tx);
            }

            tx.Commit();
            return n;
        }, cancellationToken);
    }

    private static T Scalar<T>(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection, tx);
        return (T)Convert.ChangeType(command.ExecuteScalar()!, typeof(T), CultureInfo.InvariantCulture);
    }

    private static List<CollectionItem> ReadItems(NpgsqlConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = new NpgsqlCommand(sql, connection);
        foreach ((string n, object v) in parameters)
        {
            command.Parameters.AddWithValue(n, v);
        }

        using NpgsqlDataReader reader = command.ExecuteReader();
        var items = new List<CollectionItem>();
        while (reader.Read())
        {
            items.Add(ReadItem(reader));
        }

        return items;
    }

    private static CollectionItem ReadItem(NpgsqlDataReader r) => Storage.CollectionDb.ReadItem(r);
}
