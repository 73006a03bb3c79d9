using System.Security.Claims;
using System.Text.Json;
using Bff.Configuration;

namespace Bff.Sessions;

/// <summary>
/// <c>Bff:Claims:Map</c>: claims that providers nest or name oddly, copied to a plain claim type at sign-in so that
/// policies and <c>/bff/user</c> see them as ordinary claims. A path is either a top-level claim's whole name (Auth0
/// and Okta namespaced claims such as <c>https://example.com/roles</c>, whose dots are part of the name) or, when no
/// claim has that name, dot-separated steps into a JSON claim (Keycloak's <c>realm_access.roles</c>,
/// <c>resource_access.&lt;client&gt;.roles</c>). Arrays give one claim per element; objects are not copied.
/// </summary>
internal static class ClaimMapping
{
    public static IEnumerable<SessionClaim> Apply(ClaimsPrincipal principal, IDictionary<string, IList<string>> map)
    {
        var added = new HashSet<(string, string)>();
        foreach (var (type, paths) in map)
        {
            foreach (var path in AuthorizationPolicySettings.Entries(paths))
            {
                foreach (var value in Resolve(principal, path))
                {
                    if (added.Add((type, value)))
                    {
                        yield return new SessionClaim(type, value);
                    }
                }
            }
        }
    }

    /// <summary>
    /// One session claim per element of a claim that holds a JSON array (userinfo's claims arrive so: <c>["ops","sre"]</c>),
    /// as the ID token's arrays already are; any other claim as it is.
    /// </summary>
    public static IEnumerable<SessionClaim> Expand(Claim claim)
    {
        // An array of objects has no plain values: kept as the provider wrote it.
        var values = claim.Value.StartsWith('[') ? Values(claim.Value, []) : [];
        return values.Count > 0
            ? values.Select(value => new SessionClaim(claim.Type, value))
            : [new SessionClaim(claim.Type, claim.Value)];
    }

    private static IEnumerable<string> Resolve(ClaimsPrincipal principal, string path)
    {
        var whole = principal.FindAll(path).ToList();
        if (whole.Count > 0)
        {
            return whole.SelectMany(c => Values(c.Value, []));
        }

        var steps = path.Split('.');
        return principal.FindAll(steps[0]).SelectMany(c => Values(c.Value, steps[1..]));
    }

    /// <summary>The values at <paramref name="steps"/> inside a claim's value: JSON when it is JSON, else the text itself.</summary>
    private static List<string> Values(string claimValue, string[] steps)
    {
        var trimmed = claimValue.TrimStart();
        if (!trimmed.StartsWith('{') && !trimmed.StartsWith('['))
        {
            return steps.Length == 0 ? [claimValue] : [];
        }

        try
        {
            using var document = JsonDocument.Parse(claimValue);
            var element = document.RootElement;
            foreach (var step in steps)
            {
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(step, out element))
                {
                    return [];
                }
            }

            return Leaves(element).ToList();
        }
        catch (JsonException)
        {
            return steps.Length == 0 ? [claimValue] : [];
        }
    }

    private static IEnumerable<string> Leaves(JsonElement element) =>
        element.ValueKind switch
        {
            JsonValueKind.String => [element.GetString()!],
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => [element.GetRawText()],
            JsonValueKind.Array => element.EnumerateArray().SelectMany(e => e.ValueKind == JsonValueKind.Array ? [] : Leaves(e)),
            _ => [],
        };

    /// <summary>
    /// Entra ID leaves a user's groups out of the token when there are too many (the "groups overage"): it names
    /// <c>groups</c> in <c>_claim_names</c> instead (or sends <c>hasgroups</c>). A group policy cannot be evaluated then.
    /// </summary>
    public static bool HasGroupsOverage(ClaimsPrincipal principal)
    {
        if (principal.HasClaim(c => c.Type == "hasgroups" && string.Equals(c.Value, "true", StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        return principal.FindAll("_claim_names").Any(c => Values(c.Value, ["groups"]).Count > 0);
    }
}
