using Microsoft.Extensions.Options;

namespace Bff.Hosting;

internal sealed class OtlpExportSettingsValidator : IValidateOptions<OtlpExportSettings>
{
    public ValidateOptionsResult Validate(string? name, OtlpExportSettings options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Endpoint)
            && (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var endpoint)
                || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)))
        {
            failures.Add($"{OtlpExportSettings.EndpointVariable} must be an absolute http(s) URL such as http://otel-collector:4317 ('{options.Endpoint}' is not).");
        }

        if (!string.IsNullOrWhiteSpace(options.Protocol) && options.Protocol.Trim() is not ("grpc" or "http/protobuf"))
        {
            failures.Add($"{OtlpExportSettings.ProtocolVariable} must be grpc or http/protobuf ('{options.Protocol}' is not).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
