using System.Text;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bff.Authentication;

/// <summary>
/// An authorization request that names several resources (RFC 8707 section 2.1: one <c>resource</c> parameter per
/// resource). <see cref="OpenIdConnectMessage"/> keeps one value per parameter name, so the resources travel beside
/// its parameters: this class writes them into the redirect URL, and <see cref="PushedResourceRequest"/> into the body
/// of a pushed authorization request.
/// </summary>
internal sealed class ResourceIndicatorMessage : OpenIdConnectMessage
{
    public ResourceIndicatorMessage(OpenIdConnectMessage message, IReadOnlyList<string> resources)
        : base(message)
    {
        EnableTelemetryParameters = message.EnableTelemetryParameters;
        Resources = resources;
    }

    public IReadOnlyList<string> Resources { get; }

    /// <summary>The handler clones the message to build the redirect URL and the pushed request: the resources go along.</summary>
    public override OpenIdConnectMessage Clone() => new ResourceIndicatorMessage(this, Resources);

    public override string BuildRedirectUrl()
    {
        var url = base.BuildRedirectUrl();

        // After a push the browser carries only client_id and request_uri (RFC 9126 section 4): the resources were pushed.
        if (!string.IsNullOrEmpty(RequestUri))
        {
            return url;
        }

        var builder = new StringBuilder(url);
        var separator = url.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        foreach (var resource in Resources)
        {
            builder.Append(separator).Append(OpenIdConnectParameterNames.Resource).Append('=').Append(Uri.EscapeDataString(resource));
            separator = '&';
        }

        return builder.ToString();
    }
}
