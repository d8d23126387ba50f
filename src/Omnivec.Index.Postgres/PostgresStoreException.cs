namespace Omnivec.Index.Postgres;

/// <summary>
/// The PostgreSQL store cannot be used as configured: an unparsable connection URI, a refused connection or
/// password, a database without the pgvector extension (and no right to create it), or a schema from a newer Omnivec.
/// </summary>
public sealed class PostgresStoreException : OmnivecException
{
    /// <summary>Creates the exception with a default message.</summary>
    public PostgresStoreException() { }

    /// <summary>Creates the exception with a message.</summary>
    public PostgresStoreException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public PostgresStoreException(string message, Exception? innerException) : base(message, innerException) { }
}
