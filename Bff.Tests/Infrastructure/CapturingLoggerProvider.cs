using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Bff.Tests.Infrastructure;

/// <summary>Keeps every log line the gateway writes, at every level, so tests can look for leaked secrets.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyCollection<LogLine> Lines => _lines.ToArray();

    public string AllText => string.Join('\n', _lines.Select(l => l.ToString()));

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    public sealed record LogLine(string Category, LogLevel Level, EventId EventId, string Message, string? Exception)
    {
        public override string ToString() => $"{Level} {Category}[{EventId.Id}] {Message} {Exception}";
    }

    /// <summary>Collections (header values, for one) are written out element by element, as structured log sinks do.</summary>
    public static string? Render(object? value) => value switch
    {
        null => null,
        string text => text,
        System.Collections.IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(Render)) + "]",
        _ => value.ToString(),
    };

    private sealed class Logger(string category, ConcurrentQueue<LogLine> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? " {" + string.Join(", ", pairs.Select(p => $"{p.Key}={Render(p.Value)}")) + "}"
                : string.Empty;
            lines.Enqueue(new LogLine(category, logLevel, eventId, formatter(state, exception) + structured, exception?.ToString()));
        }
    }
}
