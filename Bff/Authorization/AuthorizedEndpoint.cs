namespace Bff.Authorization;

/// <summary>
/// Which gateway route or local endpoint a request's authorization decision is about, set before the decision so a
/// refusal is logged and counted under the route's name rather than the request's path (an attacker chooses paths).
/// </summary>
internal sealed class AuthorizedEndpoint(string name)
{
    public string Name { get; } = name;

    public static void Set(HttpContext context, string name) => context.Features.Set(new AuthorizedEndpoint(name));

    public static string NameOf(HttpContext context) =>
        context.Features.Get<AuthorizedEndpoint>()?.Name
        ?? context.GetEndpoint() switch
        {
            RouteEndpoint { RoutePattern.RawText: { } pattern } => pattern,
            { DisplayName: { } name } => name,
            _ => "unknown",
        };
}
