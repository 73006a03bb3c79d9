using Bff.Tests.Infrastructure;

namespace Bff.Tests.Observability;

/// <summary>
/// Runs whole user journeys (sign-in, an API call that refreshes the tokens, logout, back-channel logout) with every
/// log level on and OpenTelemetry exporting, then looks for every secret that passed through the gateway in every
/// exported span, metric and log line, and in every line the host logged. To cover a new journey, add a step to
/// <see cref="SecretJourney.RunAsync"/> that drives it and records the secrets it involves.
/// </summary>
[Collection(TelemetryTestGroup.Name)]
public sealed class TelemetryLeakTests
{
    /// <summary>What an operator could switch on: every log level (GatewayFactory logs at Trace) and the instrumentation libraries' own query redaction off.</summary>
    private static readonly Dictionary<string, string?> WorstCaseSettings = new()
    {
        ["OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION"] = "true",
        ["OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION"] = "true",
        ["Logging:LogLevel:Default"] = "Trace",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
        ["Logging:LogLevel:Yarp"] = "Trace",
        ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
        ["Logging:LogLevel:Polly"] = "Trace",
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task No_secret_reaches_spans_metrics_or_logs_across_login_refresh_logout_and_backchannel_logout(bool pushedAuthorization)
    {
        using var idp = new TestIdentityProvider(advertisePar: pushedAuthorization);
        await using var api = await UpstreamApi.StartAsync();
        var telemetry = new TelemetryCapture();
        var secrets = new SecretJourney.Secrets();
        var settings = TelemetryCapture.Settings(WorstCaseSettings);
        foreach (var (key, value) in SecretJourney.ApiRoute(api.Address))
        {
            settings[key] = value;
        }

        var gateway = new GatewayFactory(idp, settings, services: telemetry.Register);
        try
        {
            using var browser = gateway.CreateBrowser();
            await SecretJourney.RunAsync(idp, browser, secrets);
        }
        finally
        {
            // Exported now, with no time limit: the flush of a stopping host gives up after a few seconds, which a
            // loaded machine can take. Stopping the host then exports what shutdown itself records.
            TelemetryCapture.FlushMetrics(gateway.Services);
            gateway.Dispose();
        }

        Assert.True(telemetry.Spans.Count > 0, "No span was exported.");
        Assert.True(telemetry.Metrics.Count > 0, "No metric was exported.");
        Assert.True(telemetry.Logs.Count > 0, "No log record was exported.");
        var channels = new Dictionary<string, string>
        {
            ["exported spans"] = telemetry.SpansText(),
            ["exported metrics"] = telemetry.MetricsText(),
            ["exported logs"] = telemetry.LogsText(),
            ["host log lines (Trace)"] = gateway.Logs.AllText,
        };
        foreach (var (channel, text) in channels)
        {
            foreach (var (name, value) in secrets.All)
            {
                Assert.False(text.Contains(value, StringComparison.Ordinal), $"The {name} appears in the {channel}.");
            }
        }

        // The refresh and the back-channel logout were traced and measured (so the checks above covered them).
        var spans = telemetry.SpansText();
        var metrics = telemetry.MetricsText();
        Assert.Contains("bff.token.refresh", spans, StringComparison.Ordinal);
        Assert.Contains("bff.backchannel_logout", spans, StringComparison.Ordinal);
        Assert.Contains("bff.token.refreshes", metrics, StringComparison.Ordinal);
        Assert.Contains("bff.backchannel_logouts", metrics, StringComparison.Ordinal);

        // The request URLs were logged and traced, with their query values blanked (so the check above is not vacuous).
        Assert.Contains("/signin-oidc?code=Redacted&state=Redacted", gateway.Logs.AllText, StringComparison.Ordinal);
        Assert.Contains("/signin-oidc?code=Redacted&state=Redacted", telemetry.LogsText(), StringComparison.Ordinal);
        Assert.Contains("code=Redacted", telemetry.SpansText(), StringComparison.Ordinal);
    }
}
