using System.Text.Json.Nodes;
using Bff.Demo;
using Bff.Demo.Identity.Diagnostics;
using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Bff.Demo.Identity.Provider;

/// <summary>
/// DPoP (RFC 9449) on top of OpenIddict, which has no support of its own: a token request with a valid proof gets an
/// access token bound to the proof's key (<c>cnf.jkt</c>) and <c>token_type=DPoP</c>; a request without one gets a
/// bearer token, as the RFC allows. A code asked for with <c>dpop_jkt</c> is only redeemed with a proof of that key.
/// </summary>
internal static class DPoPBinding
{
    /// <summary>The private claim that carries the authorization request's <c>dpop_jkt</c> into the code.</summary>
    public const string RequestedKeyClaim = "dpop_jkt";

    public const string ConfirmationClaim = "cnf";

    private const string ThumbprintItem = "demo.dpop.jkt";

    /// <summary>The proof's key thumbprint for this token request, set once its proof has been checked.</summary>
    public static string? Thumbprint(HttpContext http) => http.Items[ThumbprintItem] as string;

    public static void SetThumbprint(HttpContext http, string thumbprint) => http.Items[ThumbprintItem] = thumbprint;

    /// <summary>A <c>cnf</c> claim value binding a token to the key with this thumbprint.</summary>
    public static JsonObject Confirmation(string thumbprint) => new() { ["jkt"] = thumbprint };

    /// <summary>A well-formed <c>dpop_jkt</c>: the base64url SHA-256 thumbprint of a JWK, 43 characters.</summary>
    public static bool IsThumbprint(string? value) =>
        value is { Length: 43 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}

/// <summary>
/// Token requests: a DPoP header, when sent, must be a valid proof of this very request (nonce included). Checked
/// before the grant, so a request with a bad proof never spends a code or a refresh token.
/// </summary>
internal sealed class ValidateTokenRequestProof(DPoPProofValidator validator, DemoStats stats) : IOpenIddictServerHandler<ValidateTokenRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
        .UseSingletonHandler<ValidateTokenRequestProof>()
        .SetOrder(OpenIddictServerHandlers.Exchange.ValidateAuthentication.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public async ValueTask HandleAsync(ValidateTokenRequestContext context)
    {
        var http = context.Transaction.GetHttpRequest()?.HttpContext;
        if (http is null || http.Request.Headers[DPoPProofValidator.HeaderName].Count == 0)
        {
            return;
        }

        var check = await validator.ValidateAsync(http.Request, accessToken: null);
        if (!check.Succeeded)
        {
            if (check.Error != DPoPCheck.UseNonce)
            {
                stats.DPoPProofRefused(); // a nonce challenge is the protocol working, not a refusal
            }

            context.Reject(check.Error!, check.Description);
            return;
        }

        DPoPBinding.SetThumbprint(http, check.Thumbprint!);
    }
}

/// <summary>RFC 9449 §10: a code asked for with <c>dpop_jkt</c> is redeemed only with a proof of that key.</summary>
internal sealed class ValidateRequestedKey(DemoStats stats) : IOpenIddictServerHandler<ValidateTokenRequestContext>
{
    public ValueTask HandleAsync(ValidateTokenRequestContext context)
    {
        // OpenIddict has validated the code by now (custom handlers run after its own), so its private claim can be read.
        var requested = context.Request.IsAuthorizationCodeGrantType() ? context.AuthorizationCodePrincipal?.GetClaim(DPoPBinding.RequestedKeyClaim) : null;
        var http = context.Transaction.GetHttpRequest()?.HttpContext;
        if (requested is not null && http is not null && !string.Equals(requested, DPoPBinding.Thumbprint(http), StringComparison.Ordinal))
        {
            stats.DPoPProofRefused();
            context.Reject(DPoPCheck.InvalidProof, "The code was requested for a DPoP key; a proof of that key must redeem it (dpop_jkt).");
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The access token of a request proved with a key is bound to it: <c>cnf.jkt</c> (RFC 9449 §6.1). Added to the access
/// token's own principal once OpenIddict has prepared it (it keeps <c>cnf</c> for the bindings it makes itself).
/// </summary>
internal sealed class BindAccessToken(DemoStats stats) : IOpenIddictServerHandler<ProcessSignInContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
        .UseSingletonHandler<BindAccessToken>()
        .SetOrder(OpenIddictServerHandlers.PrepareAccessTokenPrincipal.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.EndpointType == OpenIddictServerEndpointType.Token && context.AccessTokenPrincipal is { } principal
            && context.Transaction.GetHttpRequest()?.HttpContext is { } http && DPoPBinding.Thumbprint(http) is { } thumbprint)
        {
            principal.SetClaim(DPoPBinding.ConfirmationClaim, DPoPBinding.Confirmation(thumbprint));
            stats.DPoPBoundToken();
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Token responses: <c>token_type=DPoP</c> for a bound access token, and the nonce to use with a <c>use_dpop_nonce</c> error.</summary>
internal sealed class ApplyDPoPTokenResponse(DPoPProofValidator validator) : IOpenIddictServerHandler<ApplyTokenResponseContext>
{
    public ValueTask HandleAsync(ApplyTokenResponseContext context)
    {
        var http = context.Transaction.GetHttpRequest()?.HttpContext;
        if (http is null)
        {
            return ValueTask.CompletedTask;
        }

        if (context.Error == DPoPCheck.UseNonce && validator.Nonces is { } nonces)
        {
            http.Response.Headers[DPoPProofValidator.NonceHeaderName] = nonces.Current;
        }
        else if (context.Response.AccessToken is not null && DPoPBinding.Thumbprint(http) is not null)
        {
            context.Response.TokenType = "DPoP";
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Userinfo: OpenIddict reads only <c>Authorization: Bearer</c>; a DPoP-bound token comes as <c>Authorization: DPoP</c>.</summary>
internal sealed class ExtractDPoPAccessToken : IOpenIddictServerHandler<ExtractUserInfoRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ExtractUserInfoRequestContext>()
        .UseSingletonHandler<ExtractDPoPAccessToken>()
        .SetOrder(OpenIddictServerAspNetCoreHandlers.ExtractAccessToken<ExtractUserInfoRequestContext>.Descriptor.Order + 1)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public ValueTask HandleAsync(ExtractUserInfoRequestContext context)
    {
        var header = context.Transaction.GetHttpRequest()?.Headers.Authorization.ToString();
        if (context.Request is not null && string.IsNullOrEmpty(context.Request.AccessToken)
            && header is { Length: > 5 } && header.StartsWith("DPoP ", StringComparison.OrdinalIgnoreCase))
        {
            context.Request.AccessToken = header[5..].Trim();
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Discovery: the algorithms this provider accepts in DPoP proofs (RFC 9449 §5.1).</summary>
internal sealed class AdvertiseDPoP : IOpenIddictServerHandler<HandleConfigurationRequestContext>
{
    public ValueTask HandleAsync(HandleConfigurationRequestContext context)
    {
        context.Metadata["dpop_signing_alg_values_supported"] = new JsonArray(DPoPProofValidator.Algorithms.Select(a => (JsonNode?)a).ToArray());
        return ValueTask.CompletedTask;
    }
}
