namespace Omnivec.Index.Postgres;

/// <summary>
/// The PostgreSQL store cannot be used as configured: an unparsable connection URI, a refused connection or
/// password, a database without the pgvector extension (and no right to create it), or a schema from a newer Omnivec.
/// </summary>
public sealed class PostgresStoreException : OmnivecException
{
    public PostgresStoreException() { }

    public PostgresStoreException(string message) : base(message) { }

    public PostgresStoreException(string message, Exception? innerException) : base(message, innerException) { }
}
