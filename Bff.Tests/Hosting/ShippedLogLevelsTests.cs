using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Hosting;

/// <summary>
/// The deployable gateway's own <c>appsettings.json</c> keeps the framework's lines that come once per request or once
/// per call to the provider below what it writes: each is formatted, redacted and written for every sign-in or API
/// call (five lines per sign-in from the provider client alone), while the gateway's own events still come through.
/// </summary>
public sealed class ShippedLogLevelsTests
{
    [Theory]
    [InlineData("Microsoft.AspNetCore.Hosting.Diagnostics")]
    [InlineData("Yarp.ReverseProxy.Forwarder.HttpForwarder")]
    [InlineData("System.Net.Http.HttpClient.Bff.Provider.Backchannel.LogicalHandler")]
    [InlineData("System.Net.Http.HttpClient.Bff.Provider.Backchannel.ClientHandler")]
    [InlineData("Polly")]
    public void Per_request_and_per_provider_call_lines_are_not_written_but_warnings_are(string category)
    {
        using var loggers = ShippedLoggers();
        var logger = loggers.CreateLogger(category);

        Assert.False(logger.IsEnabled(LogLevel.Information));
        Assert.True(logger.IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public void The_gateways_own_sign_in_events_are_written()
    {
        using var loggers = ShippedLoggers();

        Assert.True(loggers.CreateLogger("Bff.Sessions.SessionIssuer").IsEnabled(LogLevel.Information));
    }

    private static ServiceProvider ShippedLoggers()
    {
        // Bff.Host's appsettings.json, copied beside the tests by the project reference.
        var settings = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: false)
            .Build();
        return new ServiceCollection()
            .AddLogging(logging => logging.AddConfiguration(settings.GetSection("Logging")).AddProvider(new NullProvider()))
            .BuildServiceProvider();
    }

    /// <summary>Writes nothing and would write everything: what is enabled is then only the configured levels.</summary>
    private sealed class NullProvider : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }

        public void Dispose()
        {
        }
    }
}

file static class LoggerFactoryExtensions
{
    public static ILogger CreateLogger(this ServiceProvider services, string category) =>
        services.GetRequiredService<ILoggerFactory>().CreateLogger(category);
}
