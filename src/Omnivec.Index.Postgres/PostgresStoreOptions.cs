namespace Omnivec.Index.Postgres;

/// <summary>How vectors are stored in PostgreSQL (pgvector column type).</summary>
public enum PgVectorType
{
    /// <summary><c>vector(d)</c>: float32, 4 bytes per dimension, exactly what the embedded store keeps.</summary>
    Vector,

    /// <summary><c>halfvec(d)</c>: float16, 2 bytes per dimension: half the memory and index size, scores differ by ~1e-3.</summary>
    HalfVec,
}

/// <summary>Settings of a <see cref="PostgresStore"/>.</summary>
public sealed class PostgresStoreOptions
{
    /// <summary>Column type of new collections (existing ones keep theirs). Default <see cref="PgVectorType.Vector"/>.</summary>
    public PgVectorType VectorType { get; set; } = PgVectorType.Vector;

    /// <summary>HNSW <c>m</c> (links per node) of indexes built from now on; 2 to 100, default 16.</summary>
    public int HnswM { get; set; } = 16;

    /// <summary>HNSW <c>ef_construction</c> of indexes built from now on; default 64.</summary>
    public int HnswEfConstruction { get; set; } = Collection.DefaultBuildExpansion;

    /// <summary>
    /// How often a transaction that failed transiently (connection loss, serialization failure, deadlock) is retried.
    /// The default (8, with the default delays) waits about half a minute for a restarting server before giving up
    /// with a <see cref="PostgresStoreException"/>. A server never reached since the store was opened is retried once only.
    /// </summary>
    public int MaxRetries { get; set; } = 8;

    /// <summary>First retry delay; doubled per attempt (up to <see cref="MaxRetryDelay"/>), with jitter.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest wait between two retries.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most connections this process opens to the database.</summary>
    public int MaxPoolSize { get; set; } = 10;
}
