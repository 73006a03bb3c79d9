using System.Text.Json;
using Bff.Observability;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bff.Authentication;

/// <summary>
/// Pushes an authorization request that names several resources (RFC 9126). The handler builds the pushed request's
/// body from <c>OpenIdConnectMessage.Parameters</c>, one value per name, which cannot carry them; this sends
/// the same body (authenticated, as every call to the provider, by the back-channel's client authentication), with one <c>resource</c> parameter per
/// resource, and hands the handler the <c>request_uri</c> as the handler's own push would.
/// </summary>
internal static class PushedResourceRequest
{
    public static async Task PushAsync(PushedAuthorizationContext context, ResourceIndicatorMessage message, ILogger logger)
    {
        var options = context.Options;
        var cancellationToken = context.HttpContext.RequestAborted;
        var configuration = await options.ConfigurationManager!.GetConfigurationAsync(cancellationToken);

        var form = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in message.Parameters)
        {
            if (value is not null)
            {
                form.Add(new(name, value));
            }
        }

        foreach (var resource in message.Resources)
        {
            form.Add(new(OpenIdConnectParameterNames.Resource, resource));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, configuration.PushedAuthorizationRequestEndpoint)
        {
            Content = new FormUrlEncodedContent(form),
            Version = options.Backchannel.DefaultRequestVersion,
        };
        using var response = await options.Backchannel.SendAsync(request, cancellationToken);
        var (requestUri, error) = await ReadAsync(response, cancellationToken);
        if (requestUri is null)
        {
            // The handler's own push fails the same way (an exception, answered 500 internal_error); the log says why.
            BffLog.PushedAuthorizationRefused(logger, (int)response.StatusCode, error ?? "(none)", string.Join(' ', message.Resources));
            throw new OpenIdConnectProtocolException($"The pushed authorization request was refused (HTTP {(int)response.StatusCode}, error '{error ?? "(none)"}').");
        }

        context.HandlePush(requestUri);
    }

    /// <summary>The <c>request_uri</c> of a successful push, or the OAuth error of a refused one.</summary>
    private static async Task<(string? RequestUri, string? Error)> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType?.MediaType is not { } mediaType
            || !mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, null);
        }

        try
        {
            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            var error = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            var requestUri = response.IsSuccessStatusCode && error is null
                && root.TryGetProperty("request_uri", out var uri) && uri.ValueKind == JsonValueKind.String
                ? uri.GetString()
                : null;
            return (string.IsNullOrEmpty(requestUri) ? null : requestUri, error);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }
}
