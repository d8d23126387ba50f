namespace Omnivec.Index.Postgres;

/// <summary>
/// Opens the store a location names: a PostgreSQL connection URI (<c>postgresql://…</c> or <c>postgres://…</c>) or a
/// folder of embedded collections. What <c>--store</c>, <c>OMNIVEC_STORE</c> and the server's options accept.
/// </summary>
public static class StoreLocation
{
    /// <summary>The environment variable naming the default store.</summary>
    public const string EnvironmentVariable = "OMNIVEC_STORE";

    /// <summary>
    /// <paramref name="location"/> when given, else <c>$OMNIVEC_STORE</c>, else <see cref="CollectionStore.DefaultRoot"/>.
    /// </summary>
    public static string Resolve(string? location) =>
        !string.IsNullOrWhiteSpace(location) ? location
        : Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnv ? fromEnv
        : CollectionStore.DefaultRoot;

    /// <summary>Opens the store at <paramref name="location"/> (a URI or a folder). Dispose it when it is disposable.</summary>
    public static IVectorStore Open(string location, PostgresStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        return PostgresUri.IsPostgres(location) ? new PostgresStore(location, options) : new CollectionStore(Path.GetFullPath(location));
    }

    /// <summary>The location without any password, for messages.</summary>
    public static string Describe(string location) => PostgresUri.IsPostgres(location) ? PostgresUri.Redact(location) : location;
}
