using System.Net.Sockets;
using Npgsql;
using Polly;
using Polly.Retry;

namespace Omnivec.Index.Postgres;

/// <summary>
/// Re-runs a whole transaction when it failed transiently: connection loss (the server restarting, a failover),
/// serialization failures and deadlocks between concurrent writers. Upserts are idempotent, so a retried batch
/// whose first commit did reach the server changes nothing twice.
/// </summary>
internal sealed class PgRetry
{
    private readonly ResiliencePipeline _pipeline;

    public PgRetry(int maxRetries, TimeSpan delay)
    {
        _pipeline = maxRetries <= 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                MaxRetryAttempts = maxRetries,
                Delay = delay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            }).Build();
    }

    public T Run<T>(Func<CancellationToken, T> work, CancellationToken cancellationToken)
    {
        try
        {
            return _pipeline.Execute(work, cancellationToken);
        }
        catch (NpgsqlException e) when (e is not PostgresException && e.InnerException is SocketException or TimeoutException or IOException or null)
        {
            throw new PostgresStoreException($"PostgreSQL is not reachable: {e.Message}", e);
        }
    }

    internal static bool IsTransient(Exception e) => e switch
    {
        PostgresException pg => pg.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected
            or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.TooManyConnections || pg.SqlState.StartsWith("08", StringComparison.Ordinal),
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
    };
}

/// <summary>Collection names: the same rule as the embedded store.</summary>
internal static class CollectionNames
{
    public static void Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!CollectionStore.IsValidName(name))
        {
            throw new InvalidInputException(
                $"'{name}' is not a valid collection name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }
    }
}
