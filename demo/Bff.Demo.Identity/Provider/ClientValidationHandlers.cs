using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Bff.Demo.Identity.Provider;

/// <summary>Authorization requests: known client, exactly registered redirect URI.</summary>
internal sealed class ValidateAuthorizationClient(RegisteredClient client) : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
{
    public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
    {
        if (!client.IsKnown(context.ClientId))
        {
            context.Reject(Errors.InvalidClient, "The client application is not registered with this provider.");
        }
        else if (!client.AllowsRedirectUri(context.RedirectUri))
        {
            context.Reject(Errors.InvalidRequest, "The redirect_uri is not registered for this client.");
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Token requests: the confidential client must authenticate with its secret or a client assertion.</summary>
internal sealed class ValidateTokenClient(RegisteredClient client) : IOpenIddictServerHandler<ValidateTokenRequestContext>
{
    public ValueTask HandleAsync(ValidateTokenRequestContext context)
    {
        var authenticated = client.HasSecret(context.ClientSecret)
            || (context.ClientSecret is null && client.MayUseAssertion(context.Request.ClientAssertionType, context.Request.ClientAssertion));
        if (!client.IsKnown(context.ClientId) || !authenticated)
        {
            context.Reject(Errors.InvalidClient, "Client authentication failed.");
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Revocation requests: same client authentication as the token endpoint.</summary>
internal sealed class ValidateRevocationClient(RegisteredClient client) : IOpenIddictServerHandler<ValidateRevocationRequestContext>
{
    public ValueTask HandleAsync(ValidateRevocationRequestContext context)
    {
        var authenticated = client.HasSecret(context.ClientSecret)
            || (context.ClientSecret is null && client.MayUseAssertion(context.Request.ClientAssertionType, context.Request.ClientAssertion));
        if (!client.IsKnown(context.ClientId) || !authenticated)
        {
            context.Reject(Errors.InvalidClient, "Client authentication failed.");
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>End-session requests: a post-logout redirect URI, when given, must be registered.</summary>
internal sealed class ValidateEndSessionClient(RegisteredClient client) : IOpenIddictServerHandler<ValidateEndSessionRequestContext>
{
    public ValueTask HandleAsync(ValidateEndSessionRequestContext context)
    {
        if (context.ClientId is not null && !client.IsKnown(context.ClientId))
        {
            context.Reject(Errors.InvalidClient, "The client application is not registered with this provider.");
        }
        else if (context.PostLogoutRedirectUri is not null && !client.AllowsPostLogoutRedirectUri(context.PostLogoutRedirectUri))
        {
            context.Reject(Errors.InvalidRequest, "The post_logout_redirect_uri is not registered for this client.");
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Client assertions (private_key_jwt): OpenIddict's degraded mode validates them itself (signature, iss = sub =
/// client_id, aud = issuer or token endpoint, exp) but leaves finding the client's keys to the host; these are the
/// registered client's <c>Demo:Client:Jwks</c> and those it publishes at <c>Demo:Client:JwksUri</c>.
/// </summary>
internal sealed class ResolveClientAssertionKeys(RegisteredClient client) : IOpenIddictServerHandler<ValidateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
        .UseSingletonHandler<ResolveClientAssertionKeys>()
        .SetOrder(OpenIddictServerHandlers.Protection.ResolveTokenValidationParameters.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.ValidTokenTypes.Count == 1 && context.ValidTokenTypes.Contains(TokenTypeIdentifiers.Private.ClientAssertion))
        {
            // OpenIddict 7 also requires typ=client-authentication+jwt: the gateway sends it with
            // Bff:ClientAuthentication:AssertionHeaderType=ClientAuthenticationJwt.
            context.TokenValidationParameters.IssuerSigningKeys = await client.GetAssertionKeysAsync(context.CancellationToken);
        }
    }
}
