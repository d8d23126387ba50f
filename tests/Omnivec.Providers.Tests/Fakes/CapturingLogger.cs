using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Omnivec.Providers.Tests.Fakes;

/// <summary>An ILogger that keeps every formatted message (with its exception text) for assertions.</summary>
public sealed class CapturingLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public string AllText => string.Join("\n", Entries.Select(e => $"{e.Level}: {e.Message}"));

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string text = formatter(state, exception);
        if (state is IEnumerable<KeyValuePair<string, object?>> values)
        {
            text += " | " + string.Join(", ", values.Select(kv => $"{kv.Key}={kv.Value}"));
        }

        Entries.Enqueue((logLevel, exception is null ? text : text + "\n" + exception));
    }
}

/// <summary>A logger provider over one <see cref="CapturingLogger"/>, for DI tests.</summary>
public sealed class CapturingLoggerProvider(CapturingLogger logger) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => logger;

    public void Dispose()
    {
    }
}
