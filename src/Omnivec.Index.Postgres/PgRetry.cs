using System.Net.Sockets;
using Npgsql;
using Polly;
using Polly.Retry;

namespace Omnivec.Index.Postgres;

/// <summary>
/// Re-runs a whole transaction when it failed transiently: connection loss (the server restarting, a failover),
/// serialization failures and deadlocks between concurrent writers. Upserts are idempotent, so a retried batch
/// whose first commit did reach the server changes nothing twice. A server that was never reached (a wrong host or
/// port) is reported at once instead of being waited for; one that went away after a connection is waited for
/// (with exponential backoff, up to the configured retries) and, if it does not come back, reported as a
/// <see cref="PostgresStoreException"/>: never a hang, never a raw driver exception.
/// </summary>
internal sealed class PgRetry
{
    private const int RetriesBeforeFirstConnection = 1;
    private readonly ResiliencePipeline _pipeline;
    private readonly Func<bool> _everConnected;
    private readonly string _location;
    private readonly int _maxRetries;

    public PgRetry(int maxRetries, TimeSpan delay, TimeSpan maxDelay, string location, Func<bool> everConnected, Action onConnectionLost)
    {
        _everConnected = everConnected;
        _location = location;
        _maxRetries = Math.Max(0, maxRetries);
        _pipeline = _maxRetries == 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e)
                    && (_everConnected() || args.AttemptNumber < RetriesBeforeFirstConnection)),
                MaxRetryAttempts = _maxRetries,
                Delay = delay,
                MaxDelay = maxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    if (args.Outcome.Exception is { } e && IsConnectionLoss(e))
                    {
                        // The idle pooled connections died with the server: drop them rather than fail on each in turn.
                        onConnectionLost();
                    }

                    return ValueTask.CompletedTask;
                },
            }).Build();
    }

    public T Run<T>(Func<CancellationToken, T> work, CancellationToken cancellationToken)
    {
        try
        {
            return _pipeline.Execute(work, cancellationToken);
        }
        catch (NpgsqlException e) when (IsTransient(e) || (e is not PostgresException && e.InnerException is SocketException or TimeoutException or IOException or null))
        {
            string tried = _everConnected() ? $" (tried {_maxRetries + 1} times)" : "";
            throw new PostgresStoreException($"PostgreSQL at {_location} is not reachable{tried}: {e.Message}", e);
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

    /// <summary>The connection broke or the server is shutting down (as opposed to a conflict between transactions).</summary>
    private static bool IsConnectionLoss(Exception e) => e switch
    {
        PostgresException pg => pg.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            || pg.SqlState.StartsWith("08", StringComparison.Ordinal),
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
