using Bff.Configuration;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Bff.Authorization;

/// <summary>
/// Adds the policies of <c>Bff:Authorization:Policies</c> (validated at start-up by <c>BffOptionsValidator</c>) to
/// ASP.NET Core's. A policy of the same name added in code wins, whichever was registered first: code that adds a
/// policy later replaces this one, and this one never replaces a policy code added earlier. Other code policies sit
/// beside them.
/// </summary>
internal sealed class ConfiguredPolicies(IOptions<BffOptions> options) : IConfigureOptions<AuthorizationOptions>
{
    public void Configure(AuthorizationOptions authorization)
    {
        foreach (var (name, settings) in options.Value.Authorization.Policies)
        {
            if (authorization.GetPolicy(name) is null)
            {
                authorization.AddPolicy(name, Build(settings));
            }
        }
    }

    public static AuthorizationPolicy Build(AuthorizationPolicySettings settings)
    {
        var policy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser();
        foreach (var (type, values) in settings.RequireClaims)
        {
            policy.RequireClaim(type, AuthorizationPolicySettings.Entries(values));
        }

        var roles = AuthorizationPolicySettings.Entries(settings.RequireRole).ToArray();
        if (roles.Length > 0)
        {
            policy.RequireRole(roles);
        }

        var scopes = AuthorizationPolicySettings.Entries(settings.RequireScopes).ToArray();
        if (scopes.Length > 0)
        {
            policy.AddRequirements(new GrantedScopesRequirement(scopes));
        }

        return policy.Build();
    }
}
