using Bff.Demo;
using Bff.Demo.Identity.Configuration;
using Bff.Demo.Identity.Diagnostics;
using Bff.Demo.Identity.Grants;
using Bff.Demo.Identity.Logout;
using Microsoft.Extensions.Options;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Bff.Demo.Identity.Provider;

internal static class ProviderExtensions
{
    /// <summary>
    /// OpenIddict in degraded mode: no database and no OpenIddict stores; the host validates the one client
    /// itself (<see cref="RegisteredClient"/>) and keeps grants in memory (<see cref="GrantLedger"/>).
    /// </summary>
    public static IServiceCollection AddDemoProvider(this IServiceCollection services)
    {
        services.AddOptions<DemoIdentityOptions>().BindConfiguration(DemoIdentityOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DemoIdentityOptions>, DemoIdentityOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SigningKey>();
        services.AddSingleton<RegisteredClient>();
        services.AddSingleton<ClientKeySet>();
        services.AddHttpClient(ClientKeySet.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(5));
        services.AddSingleton<IssuerResolver>();
        services.AddSingleton<GrantLedger>();
        services.AddSingleton<LoginSessions>();
        services.AddSingleton<DemoStats>();
        services.AddSingleton<BackchannelLogout>();
        services.AddSingleton(sp => new DPoPProofValidator(
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<DemoIdentityOptions>>().Value.DPoP.RequireNonce ? new DPoPNonceSource(sp.GetRequiredService<TimeProvider>()) : null));
        services.AddHttpClient(BackchannelLogout.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(5));

        services.AddOpenIddict().AddServer(server =>
        {
            server.SetAuthorizationEndpointUris(ConnectEndpoints.AuthorizePath.TrimStart('/'))
                .SetTokenEndpointUris(ConnectEndpoints.TokenPath.TrimStart('/'))
                .SetEndSessionEndpointUris(ConnectEndpoints.EndSessionPath.TrimStart('/'))
                .SetRevocationEndpointUris(ConnectEndpoints.RevocationPath.TrimStart('/'))
                .SetUserInfoEndpointUris(ConnectEndpoints.UserInfoPath.TrimStart('/'));

            server.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow().RequireProofKeyForCodeExchange();
            server.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess, ConnectEndpoints.ApiScope);
            server.RegisterClaims(Claims.Subject, Claims.Name, Claims.PreferredUsername, Claims.Email, "sid");

            server.EnableDegradedMode().DisableTokenStorage().DisableAuthorizationStorage();

            // Ephemeral keys: a new RSA signing key per start (published in the JWKS) and an ephemeral key for
            // the encrypted codes and refresh tokens. Access tokens stay plain signed JWTs the demo API can read.
            server.AddEphemeralEncryptionKey();
            server.DisableAccessTokenEncryption();

            server.AddEventHandler<OpenIddictServerEvents.ValidateAuthorizationRequestContext>(h => h.UseSingletonHandler<ValidateAuthorizationClient>());
            server.AddEventHandler<OpenIddictServerEvents.ValidateTokenRequestContext>(h => h.UseSingletonHandler<ValidateTokenClient>());
            server.AddEventHandler<OpenIddictServerEvents.ValidateRevocationRequestContext>(h => h.UseSingletonHandler<ValidateRevocationClient>());
            server.AddEventHandler(ResolveClientAssertionKeys.Descriptor);
            server.AddEventHandler<OpenIddictServerEvents.ValidateEndSessionRequestContext>(h => h.UseSingletonHandler<ValidateEndSessionClient>());
            server.AddEventHandler<OpenIddictServerEvents.HandleRevocationRequestContext>(h => h.UseSingletonHandler<RevokeGrant>());
            server.AddEventHandler<OpenIddictServerEvents.HandleConfigurationRequestContext>(h => h.UseSingletonHandler<AdvertiseBackchannelLogout>());

            // DPoP (RFC 9449), which OpenIddict leaves to the host: proofs at the token endpoint, bound access tokens.
            server.AddEventHandler(ValidateTokenRequestProof.Descriptor);
            server.AddEventHandler<OpenIddictServerEvents.ValidateTokenRequestContext>(h => h.UseSingletonHandler<ValidateRequestedKey>());
            server.AddEventHandler(BindAccessToken.Descriptor);
            server.AddEventHandler<OpenIddictServerEvents.ApplyTokenResponseContext>(h => h.UseSingletonHandler<ApplyDPoPTokenResponse>());
            server.AddEventHandler(ExtractDPoPAccessToken.Descriptor);
            server.AddEventHandler<OpenIddictServerEvents.HandleConfigurationRequestContext>(h => h.UseSingletonHandler<AdvertiseDPoP>());
            // OpenIddict checks the cnf claims it knows (mTLS, x5t#S256) and throws on jkt; the userinfo endpoint checks
            // a DPoP-bound token's proof itself. The demo issues no certificate-bound tokens.
            server.RemoveEventHandler(OpenIddictServerHandlers.Protection.ValidateProofOfPossession.Descriptor);

            server.UseAspNetCore()
                .EnableAuthorizationEndpointPassthrough()
                .EnableTokenEndpointPassthrough()
                .EnableEndSessionEndpointPassthrough()
                .EnableUserInfoEndpointPassthrough()
                .DisableTransportSecurityRequirement(); // the demo runs on http://127.0.0.1
        });

        // Values known only once configuration is bound.
        services.AddOptions<OpenIddictServerOptions>().Configure<IOptions<DemoIdentityOptions>, SigningKey>((server, demo, key) =>
        {
            server.AccessTokenLifetime = demo.Value.AccessTokenLifetime;
            server.RefreshTokenLifetime = demo.Value.RefreshTokenLifetime;
            server.Issuer = demo.Value.Issuer;
            server.SigningCredentials.Add(key.Credentials);
            server.CodeChallengeMethods.Remove(CodeChallengeMethods.Plain); // S256 only
        });

        return services;
    }
}
