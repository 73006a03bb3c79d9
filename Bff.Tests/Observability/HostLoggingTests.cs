using Bff.Observability;
using Bff.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bff.Tests.Observability;

/// <summary>
/// What AddBff does to the logging of an application that embeds it: the application's own logger factory and providers
/// keep receiving every line, with URL query values and cookie data blanked; a factory that would bypass the blanking is
/// refused before the application serves anything.
/// </summary>
public sealed partial class HostLoggingTests
{
    private const string SignInCallback = "https://app.example.com/signin-oidc?code=a-secret-code&state=a-secret-state";

    [Fact]
    public async Task The_application_s_own_logger_factory_keeps_receiving_lines_with_query_values_blanked()
    {
        var builder = CreateBuilder();
        var own = new OwnLoggerFactory();
        builder.Services.AddSingleton<ILoggerFactory>(own);
        builder.AddBff();
        await using var app = builder.Build();

        RequestStarting(app.Services.GetRequiredService<ILogger<HostLoggingTests>>(), SignInCallback);

        var line = Assert.Single(own.Logs.Lines, l => l.Category == typeof(HostLoggingTests).FullName);
        Assert.Contains("/signin-oidc?code=Redacted&state=Redacted", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("a-secret", own.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_application_that_enabled_the_platform_s_redaction_keeps_its_extended_logger_factory()
    {
        var builder = CreateBuilder();
        builder.Logging.EnableRedaction();
        builder.Services.AddRedaction();
        var logs = new CapturingLoggerProvider();
        builder.Logging.AddProvider(logs);
        builder.AddBff();
        await using var app = builder.Build();

        RequestStarting(app.Services.GetRequiredService<ILogger<HostLoggingTests>>(), SignInCallback);

        Assert.Contains("/signin-oidc?code=Redacted&state=Redacted", logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain("a-secret", logs.AllText, StringComparison.Ordinal);
        var factory = Assert.IsType<Bff.Observability.BffLoggerFactory>(app.Services.GetRequiredService<ILoggerFactory>());
        Assert.Equal("ExtendedLoggerFactory", factory.Inner.GetType().Name);
    }

    [Fact]
    public async Task The_application_s_own_logger_factory_instance_is_left_for_the_application_to_dispose()
    {
        var builder = CreateBuilder();
        var own = new OwnLoggerFactory();
        builder.Services.AddSingleton<ILoggerFactory>(own);
        builder.AddBff();
        var app = builder.Build();
        _ = app.Services.GetRequiredService<ILoggerFactory>();

        await app.DisposeAsync();

        Assert.False(own.Disposed);
    }

    [Fact]
    public async Task A_provider_the_application_adds_after_AddBff_gets_lines_with_query_values_blanked()
    {
        var builder = CreateBuilder();
        builder.AddBff();
        var logs = new CapturingLoggerProvider();
        builder.Logging.AddProvider(logs);
        await using var app = builder.Build();

        Proxying(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ThirdParty.Forwarder"), SignInCallback);

        Assert.Contains("/signin-oidc?code=Redacted&state=Redacted", logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain("a-secret", logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_token_an_application_s_own_client_sends_stays_out_of_its_trace_header_entries()
    {
        const string Token = "eyJ.user-access-token.sig";
        var builder = CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace" });
        builder.AddBff();
        var logs = new CapturingLoggerProvider();
        builder.Logging.AddProvider(logs);
        // HttpClientFactory's default logger, as an application's client has it: its header entries are Trace.
        builder.Services.AddHttpClient("orders").ConfigurePrimaryHttpMessageHandler(static () => new AnswersOk());
        await using var app = builder.Build();

        using var request = new HttpRequestMessage(HttpMethod.Get, "https://api.example.com/orders");
        request.Headers.Authorization = new("Bearer", Token);
        using var response = await app.Services.GetRequiredService<IHttpClientFactory>().CreateClient("orders").SendAsync(request);

        var headers = Assert.Single(logs.Lines, l => l.Category == "System.Net.Http.HttpClient.orders.ClientHandler" && l.EventId.Id == 102);
        Assert.Contains("Authorization: *", headers.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("user-access-token", logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_logger_factory_registered_after_AddBff_is_refused_when_the_pipeline_is_built()
    {
        var builder = CreateBuilder();
        builder.AddBff();
        var own = new OwnLoggerFactory();
        builder.Services.AddSingleton<ILoggerFactory>(own);
        await using var app = builder.Build();

        var refusal = Assert.Throws<InvalidOperationException>(() => app.UseBff());

        Assert.Contains("Register it before calling AddBff", refusal.Message, StringComparison.Ordinal);
    }

    private static WebApplicationBuilder CreateBuilder()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Production",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Trace);
        return builder;
    }

    [LoggerMessage(1, LogLevel.Information, "Request starting {Url}")]
    private static partial void RequestStarting(ILogger logger, string url);

    [LoggerMessage(2, LogLevel.Information, "Proxying to {TargetUrl}")]
    private static partial void Proxying(ILogger logger, string targetUrl);

    private sealed class AnswersOk : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK));
    }

    /// <summary>A factory of the application's own that feeds no registered provider (as Serilog's UseSerilog does).</summary>
    private sealed class OwnLoggerFactory : ILoggerFactory
    {
        public CapturingLoggerProvider Logs { get; } = new();

        public ILogger CreateLogger(string categoryName) => Logs.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }
}
