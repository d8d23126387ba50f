using System.Globalization;
using Npgsql;
using Pgvector.Npgsql;

namespace Omnivec.Index.Postgres;

/// <summary>
/// Collections in a PostgreSQL database with pgvector: a catalog table (<c>omnivec_collections</c>: name, embedding
/// space, vector type) and one table per collection (<c>omnivec_items_&lt;id&gt;</c>: unique path, metadata, a
/// <c>vector(d)</c> or <c>halfvec(d)</c> column, an HNSW index once built). Many processes may read and write at
/// once: upserts are idempotent on the unique path, each batch is one transaction, transient failures are retried.
/// The schema is versioned (<c>omnivec_schema_version</c>) and migrated on first use.
/// </summary>
public sealed class PostgresStore : IVectorStore, IDisposable
{
    /// <summary>Schema version this build creates and understands.</summary>
    public const int SchemaVersion = 1;

    private readonly NpgsqlDataSource _dataSource;
    private readonly Lock _migrateGate = new();
    private bool _migrated;
    private bool _everConnected;

    /// <summary>Opens a store at a connection URI (<c>postgresql://user:password@host:port/database</c>); connects on first use.</summary>
    public PostgresStore(string connectionUri, PostgresStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connectionUri);
        Options = options ?? new PostgresStoreOptions();
        NpgsqlConnectionStringBuilder builder = PostgresUri.Parse(connectionUri);
        builder.MaxPoolSize = Math.Max(1, Options.MaxPoolSize);
        // Session state is never relied upon (settings are SET LOCAL, locks are transaction-scoped), so pooled
        // connections need no DISCARD ALL between uses.
        builder.NoResetOnClose = true;
        Location = PostgresUri.Redact(connectionUri);
        var sources = new NpgsqlDataSourceBuilder(builder.ConnectionString);
        sources.UseVector();
        _dataSource = sources.Build();
        Retry = new PgRetry(Options.MaxRetries, Options.RetryDelay, Options.MaxRetryDelay, Location, () => Volatile.Read(ref _everConnected), _dataSource.Clear);
    }

    /// <summary>The connection URI without its password.</summary>
    public string Location { get; }

    /// <summary>The options this store was opened with.</summary>
    public PostgresStoreOptions Options { get; }

    internal PgRetry Retry { get; }

    /// <inheritdoc/>
    public IReadOnlyList<CollectionInfo> List()
    {
        EnsureSchema();
        return Retry.Run(_ =>
        {
            using NpgsqlConnection connection = OpenConnection();
            var rows = new List<(CollectionRecord Record, DateTimeOffset Created, DateTimeOffset Updated)>();
            using (var command = new NpgsqlCommand($"SELECT {CollectionRecord.Columns}, created_at, updated_at FROM omnivec_collections ORDER BY name COLLATE \"C\"", connection))
            using (NpgsqlDataReader reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    rows.Add((CollectionRecord.Read(reader), reader.GetFieldValue<DateTimeOffset>(8), reader.GetFieldValue<DateTimeOffset>(9)));
                }
            }

            var result = new List<CollectionInfo>(rows.Count);
            foreach ((CollectionRecord record, DateTimeOffset created, DateTimeOffset updated) in rows)
            {
                using var command = new NpgsqlCommand($"SELECT count(*), pg_total_relation_size('{record.Table}') FROM {record.Table}", connection);
                using NpgsqlDataReader reader = command.ExecuteReader();
                reader.Read();
                result.Add(new CollectionInfo(record.Name, record.Space, reader.GetInt64(0), reader.GetInt64(1), created, updated));
            }

            return (IReadOnlyList<CollectionInfo>)result;
        }, CancellationToken.None);
    }

    /// <inheritdoc/>
    public bool Exists(string name)
    {
        CollectionNames.Validate(name);
        return Find(name) is not null;
    }

    /// <inheritdoc/>
    public IVectorCollection Open(string name)
    {
        CollectionNames.Validate(name);
        CollectionRecord record = Find(name) ?? throw new CollectionNotFoundException($"No collection named '{name}' in {Location}.");
        return new PostgresCollection(this, record);
    }

    /// <inheritdoc/>
    public IVectorCollection OpenOrCreate(string name, EmbeddingSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        CollectionNames.Validate(name);
        if (space.Dimensions <= 0 || string.IsNullOrWhiteSpace(space.Provider) || string.IsNullOrWhiteSpace(space.ModelId))
        {
            throw new InvalidInputException($"Embedding space {space} needs a provider, a model id and a positive dimension count.");
        }

        int maxDims = Options.VectorType == PgVectorType.HalfVec ? 4000 : 16000;
        if (space.Dimensions > maxDims)
        {
            throw new InvalidInputException($"pgvector stores at most {maxDims} dimensions in a {Options.VectorType} column; {space} has {space.Dimensions}.");
        }

        EnsureSchema();
        CollectionRecord record = Find(name) ?? Retry.Run(_ =>
        {
            using NpgsqlConnection connection = OpenConnection();
            using NpgsqlTransaction tx = connection.BeginTransaction();
            // Two processes creating the same collection: the second waits here, then finds the first's.
            Execute(connection, tx, $"SELECT pg_advisory_xact_lock(hashtext('omnivec.collection:' || @name))", ("name", name));
            using (var insert = new NpgsqlCommand("""
                INSERT INTO omnivec_collections(name, provider, model_id, revision, dimensions, modalities, vector_type)
                VALUES(@name, @provider, @model, @revision, @dims, @modalities, @type)
                ON CONFLICT (name) DO NOTHING
                """, connection, tx))
            {
                insert.Parameters.AddWithValue("name", name);
                insert.Parameters.AddWithValue("provider", space.Provider);
                insert.Parameters.AddWithValue("model", space.ModelId);
                insert.Parameters.AddWithValue("revision", space.Revision);
                insert.Parameters.AddWithValue("dims", space.Dimensions);
                insert.Parameters.AddWithValue("modalities", (int)space.Modalities);
                insert.Parameters.AddWithValue("type", Options.VectorType == PgVectorType.HalfVec ? "halfvec" : "vector");
                insert.ExecuteNonQuery();
            }

            CollectionRecord created = Find(connection, tx, name)!;
            Execute(connection, tx, $"""
                CREATE TABLE IF NOT EXISTS {created.Table}(
                    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                    path text COLLATE "C" NOT NULL UNIQUE,
                    media_type text NOT NULL,
                    size_bytes bigint NOT NULL,
                    modified_ticks bigint NOT NULL,
                    content_hash text NOT NULL,
                    width integer NOT NULL,
                    height integer NOT NULL,
                    taken_ticks bigint,
                    taken_offset_min integer,
                    camera text,
                    caption text,
                    extra jsonb,
                    when_ticks bigint GENERATED ALWAYS AS (coalesce(taken_ticks, modified_ticks)) STORED,
                    embedding {created.VectorType}({created.Space.Dimensions}) NOT NULL)
                """);
            tx.Commit();
            return created;
        }, CancellationToken.None);

        var collection = new PostgresCollection(this, record);
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

    /// <inheritdoc/>
    public bool Delete(string name)
    {
        CollectionNames.Validate(name);
        EnsureSchema();
        return Retry.Run(_ =>
        {
            using NpgsqlConnection connection = OpenConnection();
            using NpgsqlTransaction tx = connection.BeginTransaction();
            CollectionRecord? record = Find(connection, tx, name);
            if (record is null)
            {
                return false;
            }

            Execute(connection, tx, $"DROP TABLE IF EXISTS {record.Table}");
            Execute(connection, tx, "DELETE FROM omnivec_collections WHERE id = @id", ("id", record.Id));
            tx.Commit();
            return true;
        }, CancellationToken.None);
    }

    /// <summary>
    /// Checks that the database answers now: one connection and <c>SELECT 1</c>, without retries (for readiness probes).
    /// Throws <see cref="PostgresStoreException"/> with the reason when it does not; cancel through
    /// <paramref name="cancellationToken"/> to bound the wait.
    /// </summary>
    public async Task ProbeAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                Volatile.Write(ref _everConnected, true);
                using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (NpgsqlException e)
        {
            // The pooled connections may have died with the server: drop them so the next use connects afresh.
            _dataSource.Clear();
            throw new PostgresStoreException($"PostgreSQL at {Location} is not reachable: {e.Message}", e);
        }
    }

    /// <summary>Closes the pooled connections.</summary>
    public void Dispose() => _dataSource.Dispose();

    /// <summary>Opens a pooled connection, turning refusals into <see cref="PostgresStoreException"/> with the reason.</summary>
    internal NpgsqlConnection OpenConnection()
    {
        try
        {
            NpgsqlConnection connection = _dataSource.OpenConnection();
            Volatile.Write(ref _everConnected, true);
            return connection;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification)
        {
            throw new PostgresStoreException($"PostgreSQL at {Location} refused the login: {e.MessageText}. Check the user and password in the URI.", e);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            throw new PostgresStoreException($"PostgreSQL at {Location}: {e.MessageText}. Create the database first (createdb).", e);
        }
    }

    internal CollectionRecord? Find(string name)
    {
        EnsureSchema();
        return Retry.Run(_ =>
        {
            using NpgsqlConnection connection = OpenConnection();
            return Find(connection, null, name);
        }, CancellationToken.None);
    }

    internal static CollectionRecord? Find(NpgsqlConnection connection, NpgsqlTransaction? tx, string name)
    {
        using var command = new NpgsqlCommand($"SELECT {CollectionRecord.Columns} FROM omnivec_collections WHERE name = @name", connection, tx);
        command.Parameters.AddWithValue("name", name);
        using NpgsqlDataReader reader = command.ExecuteReader();
        return reader.Read() ? CollectionRecord.Read(reader) : null;
    }

    internal static int Execute(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = new NpgsqlCommand(sql, connection, tx);
        foreach ((string n, object v) in parameters)
        {
            command.Parameters.AddWithValue(n, v);
        }

        return command.ExecuteNonQuery();
    }

    private static int Execute(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql) => Execute(connection, tx, sql, []);

    /// <summary>
    /// Creates pgvector and the schema on first use, applying each migration above the recorded version in its own
    /// transaction under an advisory lock (several processes starting at once migrate once).
    /// </summary>
    private void EnsureSchema()
    {
        if (_migrated)
        {
            return;
        }

        lock (_migrateGate)
        {
            if (_migrated)
            {
                return;
            }

            Retry.Run(_ =>
            {
                using NpgsqlConnection connection = OpenConnection();
                EnsureVectorExtension(connection);
                using NpgsqlTransaction tx = connection.BeginTransaction();
                Execute(connection, tx, "SELECT pg_advisory_xact_lock(hashtext('omnivec.schema'))");
                Execute(connection, tx, "CREATE TABLE IF NOT EXISTS omnivec_schema_version(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
                using var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM omnivec_schema_version", connection, tx);
                int current = Convert.ToInt32(read.ExecuteScalar(), CultureInfo.InvariantCulture);
                if (current > SchemaVersion)
                {
                    throw new PostgresStoreException(
                        $"The Omnivec schema in {Location} is version {current}; this Omnivec understands up to {SchemaVersion}. Upgrade Omnivec.");
                }

                for (int version = current + 1; version <= SchemaVersion; version++)
                {
                    Execute(connection, tx, Migrations[version - 1]);
                    Execute(connection, tx, "INSERT INTO omnivec_schema_version(version) VALUES(@v)", ("v", version));
                }

                tx.Commit();
                return true;
            }, CancellationToken.None);
            _migrated = true;
        }
    }

    private void EnsureVectorExtension(NpgsqlConnection connection)
    {
        using (var check = new NpgsqlCommand("SELECT 1 FROM pg_extension WHERE extname = 'vector'", connection))
        {
            if (check.ExecuteScalar() is not null)
            {
                return;
            }
        }

        try
        {
            Execute(connection, null, "CREATE EXTENSION IF NOT EXISTS vector");
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.UndefinedFile
            or PostgresErrorCodes.FeatureNotSupported or PostgresErrorCodes.UndefinedObject)
        {
            throw new PostgresStoreException(
                $"The database at {Location} has no pgvector extension and it could not be created ({e.SqlState}: {e.MessageText}). " +
                "Install pgvector on the server (e.g. the pgvector/pgvector image) and run 'CREATE EXTENSION vector;' as a superuser or the database owner.", e);
        }

        // The vector types did not exist when the pool's type mapping was loaded: reload it.
        connection.ReloadTypes();
    }

    /// <summary>Migration N (1-based) takes the schema from version N-1 to N. Never edit a shipped one; add the next.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE omnivec_collections(
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            name text COLLATE "C" NOT NULL UNIQUE,
            provider text NOT NULL,
            model_id text NOT NULL,
            revision text NOT NULL,
            dimensions integer NOT NULL,
            modalities integer NOT NULL,
            vector_type text NOT NULL CHECK (vector_type IN ('vector', 'halfvec')),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE omnivec_index_state(
            collection_id bigint NOT NULL REFERENCES omnivec_collections(id) ON DELETE CASCADE,
            key text NOT NULL,
            value text NOT NULL,
            PRIMARY KEY (collection_id, key));
        """,
    ];
}

/// <summary>A row of omnivec_collections.</summary>
internal sealed record CollectionRecord(long Id, string Name, EmbeddingSpace Space, string VectorType)
{
    public const string Columns = "id, name, provider, model_id, revision, dimensions, modalities, vector_type";

    /// <summary>The collection's table (named by id, so any valid collection name is safe).</summary>
    public string Table => "omnivec_items_" + Id.ToString(CultureInfo.InvariantCulture);

    public string IndexName => Table + "_hnsw";

    public bool IsHalf => VectorType == "halfvec";

    public static CollectionRecord Read(NpgsqlDataReader r) => new(
        r.GetInt64(0),
        r.GetString(1),
        new EmbeddingSpace(r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt32(5)) { Modalities = (Modalities)r.GetInt32(6) },
        r.GetString(7));
}
