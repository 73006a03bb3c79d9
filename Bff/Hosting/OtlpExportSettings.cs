namespace Bff.Hosting;

/// <summary>
/// The standard OpenTelemetry exporter variables, as far as the gateway reads them itself: whether to export at all,
/// and enough checking that a typo stops the process at start-up instead of silently exporting nothing.
/// Everything else (headers, timeouts, signal-specific endpoints, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) is read by
/// the OpenTelemetry SDK as usual.
/// </summary>
internal sealed class OtlpExportSettings
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ProtocolVariable = "OTEL_EXPORTER_OTLP_PROTOCOL";

    public string? Endpoint { get; set; }

    public string? Protocol { get; set; }

    /// <summary>OTLP export is on exactly when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; without it nothing leaves the process.</summary>
    public static bool IsEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[EndpointVariable]);

    public static void Bind(OtlpExportSettings settings, IConfiguration configuration)
    {
        settings.Endpoint = configuration[EndpointVariable];
        settings.Protocol = configuration[ProtocolVariable];
    }
}
