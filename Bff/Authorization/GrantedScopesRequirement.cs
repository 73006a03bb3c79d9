using Bff.Configuration;
using Bff.Sessions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Bff.Authorization;

/// <summary>
/// Every one of <see cref="Scopes"/> was granted to the session's access token (<c>Bff:Authorization:Policies:…:RequireScopes</c>).
/// </summary>
internal sealed class GrantedScopesRequirement(IReadOnlyList<string> scopes) : IAuthorizationRequirement
{
    public IReadOnlyList<string> Scopes { get; } = scopes;
}

/// <summary>
/// Reads the scopes from the session the request resolved (remembered for the request: no second store read): those
/// the provider's token response named, or, when it named none (RFC 6749 §5.1: then it granted what was asked),
/// <c>Bff:Scopes</c>.
/// </summary>
internal sealed class GrantedScopesHandler(SessionResolver sessions, IOptions<BffOptions> options) : AuthorizationHandler<GrantedScopesRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, GrantedScopesRequirement requirement)
    {
        if (context.Resource is not HttpContext http)
        {
            return;
        }

        var lookup = await sessions.ResolveAsync(http);
        if (lookup.Session is not { } session)
        {
            return;
        }

        var granted = (session.Tokens.Scope ?? options.Value.Scopes).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (requirement.Scopes.All(scope => granted.Contains(scope, StringComparer.Ordinal)))
        {
            context.Succeed(requirement);
        }
    }
}
