using Bff.Configuration;
using Bff.Errors;
using Bff.Observability;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bff.Provider;

/// <summary>The provider's discovery document, or the reason it cannot be used.</summary>
internal readonly record struct MetadataResult(OpenIdConnectConfiguration? Configuration, BffError? Error)
{
    public bool Succeeded => Configuration is not null;
}

/// <summary>
/// Reads the provider's metadata through the OpenID Connect handler's own configuration manager (one cache, one
/// refresh schedule) and refuses metadata whose <c>issuer</c> is not the configured authority.
/// </summary>
internal sealed class ProviderMetadata(
    IOptionsMonitor<OpenIdConnectOptions> oidcOptions,
    IOptions<BffOptions> bffOptions,
    ClientAuthenticator clientAuthentication,
    ILogger<ProviderMetadata> logger)
{
    private readonly string _authority = bffOptions.Value.Authority ?? string.Empty;

    /// <summary>
    /// The last metadata and signing key whose client-authentication check was logged, so a refusal is logged once
    /// per document and per key (a key file may be replaced while the gateway runs).
    /// </summary>
    private CheckedPair? _checked;

    public async ValueTask<MetadataResult> GetAsync(CancellationToken cancellationToken)
    {
        var manager = oidcOptions.Get(OpenIdConnectDefaults.AuthenticationScheme).ConfigurationManager;
        if (manager is null)
        {
            return new MetadataResult(null, BffError.ProviderUnavailable);
        }

        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await manager.GetConfigurationAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // The configuration manager wraps every transport and parsing failure in InvalidOperationException.
            BffLog.ProviderMetadataUnavailable(logger, ex.GetType().Name, ex.Message);
            return new MetadataResult(null, BffError.ProviderUnavailable);
        }

        if (!IssuerMatches(configuration.Issuer, _authority))
        {
            BffLog.ProviderIssuerMismatch(logger, configuration.Issuer, _authority);
            return new MetadataResult(null, BffError.ProviderMisconfigured);
        }

        // Refused here, at the first load of each document, rather than at each call: a provider that accepts none of
        // the key's algorithms would refuse every assertion the gateway could sign.
        var key = clientAuthentication.SigningKey;
        var algorithm = clientAuthentication.ChooseAlgorithm(key, configuration);
        var pair = new CheckedPair(configuration, key);
        var previous = Interlocked.Exchange(ref _checked, pair);
        var firstLook = previous is null || !ReferenceEquals(previous.Configuration, configuration) || !ReferenceEquals(previous.Key, key);
        if (algorithm.Problem is { } problem)
        {
            if (firstLook)
            {
                BffLog.ClientAssertionAlgorithmUnsupported(logger, problem);
            }

            return new MetadataResult(null, BffError.ProviderMisconfigured);
        }

        if (firstLook && algorithm.Algorithm is { } chosen)
        {
            BffLog.ClientAssertionAlgorithmChosen(logger, chosen, key?.KeyId ?? "(none)", clientAuthentication.Audience(configuration));
        }

        return new MetadataResult(configuration, null);
    }

    private sealed record CheckedPair(OpenIdConnectConfiguration Configuration, ClientSigningKey? Key);

    /// <summary>Issuer identifiers compare exactly, but a trailing slash on either side is not a different issuer.</summary>
    public static bool IssuerMatches(string? issuer, string authority) =>
        issuer is not null && string.Equals(issuer.TrimEnd('/'), authority.TrimEnd('/'), StringComparison.Ordinal);
}
