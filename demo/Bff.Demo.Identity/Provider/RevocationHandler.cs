using Bff.Demo.Identity.Diagnostics;
using Bff.Demo.Identity.Grants;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Bff.Demo.Identity.Provider;

/// <summary>
/// With token storage disabled OpenIddict cannot revoke anything itself; revoking a refresh token here ends its
/// whole grant in the <see cref="GrantLedger"/>, so neither it nor any token rotated from it can be redeemed again.
/// </summary>
internal sealed class RevokeGrant(GrantLedger grants, DemoStats stats) : IOpenIddictServerHandler<HandleRevocationRequestContext>
{
    public ValueTask HandleAsync(HandleRevocationRequestContext context)
    {
        grants.Revoke(context.GenericTokenPrincipal?.GetClaim(GrantLedger.GrantIdClaim));
        stats.Revocation();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Advertises back-channel logout support in the discovery document.</summary>
internal sealed class AdvertiseBackchannelLogout : IOpenIddictServerHandler<HandleConfigurationRequestContext>
{
    public ValueTask HandleAsync(HandleConfigurationRequestContext context)
    {
        context.Metadata["backchannel_logout_supported"] = true;
        context.Metadata["backchannel_logout_session_supported"] = true;
        return ValueTask.CompletedTask;
    }
}
