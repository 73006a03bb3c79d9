using Bff.Provider;
using Bff.Sessions;
using System.Collections.Frozen;
using Yarp.ReverseProxy.Configuration;

namespace Bff.Proxy;

/// <summary>Which token a route's calls carry upstream (route metadata <c>Bff.Token</c>).</summary>
internal enum RouteToken
{
    /// <summary>The signed-in user's access token; 401 without a session. The default.</summary>
    User,

    /// <summary>The gateway's own client-credentials token.</summary>
    Client,

    /// <summary>The user's token when signed in, else the gateway's.</summary>
    UserOrClient,

    /// <summary>No token: any Authorization header is removed.</summary>
    None,

    /// <summary>The user's token when signed in, else no token at all (a public API with personalised extras).</summary>
    UserOrNone,
}

/// <summary>How a route's calls use DPoP-bound tokens (route metadata <c>Bff.DPoP</c>).</summary>
internal enum RouteDPoP
{
    /// <summary>A DPoP-bound token goes with a proof; a bearer token as a bearer token. The default.</summary>
    Auto,

    /// <summary>Only DPoP-bound tokens: a call whose token is a bearer token is refused (502 <c>dpop_unavailable</c>).</summary>
    Require,

    /// <summary>
    /// The route's token is requested without a proof (its own token request, cached like a <c>Bff.Scope</c> token), so a
    /// provider that issues both kinds issues a bearer token: for an API that cannot check proofs.
    /// </summary>
    Bearer,
}

/// <summary>
/// A route's BFF behaviour, read from its YARP metadata once when routes load (validated by
/// <see cref="RouteTransformProvider"/>, attached to the route's endpoint by <see cref="ProxyExtensions.MapBffProxy"/>),
/// never per request.
/// </summary>
internal sealed class RoutePolicy
{
    public const string TokenKey = "Bff.Token";
    public const string CsrfKey = "Bff.Csrf";
    public const string ScopeKey = "Bff.Scope";
    public const string ResourceKey = "Bff.Resource";
    public const string CsrfOffKey = "Bff.CsrfOff";
    public const string SetCookieKey = "Bff.SetCookie";
    public const string KeepRequestHeadersKey = "Bff.KeepRequestHeaders";
    public const string AcrKey = "Bff.Acr";
    public const string MaxAgeKey = "Bff.MaxAge";
    public const string DPoPMetadataKey = "Bff.DPoP";

    /// <summary>The one value of <c>Bff.CsrfOff</c>: the operator has read what turning CSRF off on a token route means.</summary>
    public const string CsrfOffAcknowledgement = "Acknowledged";

    private const string KeyPrefix = "Bff.";
    private const string KnownKeys = $"{TokenKey}, {CsrfKey}, {CsrfOffKey}, {ScopeKey}, {ResourceKey}, {SetCookieKey}, {KeepRequestHeadersKey}, {AcrKey}, {MaxAgeKey} or {DPoPMetadataKey}";

    private RoutePolicy(
        string routeId,
        RouteToken token,
        bool requireCsrf,
        TokenTarget target,
        UpstreamCookies upstreamCookies = UpstreamCookies.Drop,
        FrozenSet<string>? strippedRequestHeaders = null,
        bool csrfOffAcknowledged = false,
        StepUpRequirement? stepUp = null,
        RouteDPoP dpop = RouteDPoP.Auto)
    {
        StepUp = stepUp;
        DPoPMode = dpop;
        RouteId = routeId;
        Token = token;
        RequireCsrf = requireCsrf;
        Target = target;
        UpstreamCookies = upstreamCookies;
        StrippedRequestHeaders = strippedRequestHeaders ?? RiskyRequestHeaders.All;
        CsrfOffAcknowledged = csrfOffAcknowledged;
    }

    public string RouteId { get; }

    public RouteToken Token { get; }

    /// <summary>Calls must carry <c>X-CSRF: 1</c>; WebSocket upgrades must come from the gateway's own origin.</summary>
    public bool RequireCsrf { get; }

    /// <summary>The audience of the token (<c>Bff.Scope</c>, <c>Bff.Resource</c>).</summary>
    public TokenTarget Target { get; }

    /// <summary>What happens to the API's <c>Set-Cookie</c> headers (<c>Bff.SetCookie</c>).</summary>
    public UpstreamCookies UpstreamCookies { get; }

    /// <summary>Browser request headers removed before forwarding: <see cref="RiskyRequestHeaders"/> minus <c>Bff.KeepRequestHeaders</c>.</summary>
    public FrozenSet<string> StrippedRequestHeaders { get; }

    /// <summary>CSRF is off on a route that carries a token, and the operator said so (<c>Bff.CsrfOff</c>).</summary>
    public bool CsrfOffAcknowledged { get; }

    /// <summary>The sign-in a call needs (<c>Bff.Acr</c>, <c>Bff.MaxAge</c>); null: any session will do.</summary>
    public StepUpRequirement? StepUp { get; }

    /// <summary>How DPoP-bound tokens are used on this route (<c>Bff.DPoP</c>).</summary>
    public RouteDPoP DPoPMode { get; }

    /// <summary>The strictest policy, for a proxied endpoint that somehow carries none.</summary>
    public static RoutePolicy Strict { get; } = new("(unknown)", RouteToken.User, requireCsrf: true, TokenTarget.Default);

    /// <summary>
    /// Reads a route's <c>Bff.*</c> metadata. Every problem is added to <paramref name="problems"/> as a message that
    /// names the route and the key; a value that cannot be read falls back to its strict default.
    /// </summary>
    public static RoutePolicy Parse(RouteConfig route, ICollection<string>? problems)
    {
        var token = RouteToken.User;
        var requireCsrf = true;
        string? scope = null;
        string? resource = null;
        var upstreamCookies = UpstreamCookies.Drop;
        FrozenSet<string>? stripped = null;
        string? csrfOff = null;
        IReadOnlyList<string> acrValues = [];
        int? maxAge = null;
        var stepUpKeys = false;
        var dpop = RouteDPoP.Auto;
        var id = route.RouteId;

        foreach (var (key, value) in route.Metadata ?? new Dictionary<string, string>())
        {
            if (!key.StartsWith(KeyPrefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (Is(key, TokenKey))
            {
                if (!TryParseToken(value, out token))
                {
                    problems?.Add($"Route '{id}': metadata '{TokenKey}' has unknown value '{value}'; use User, Client, UserOrClient, UserOrNone or None");
                }
            }
            else if (Is(key, CsrfKey))
            {
                if (!bool.TryParse(value, out requireCsrf))
                {
                    requireCsrf = true;
                    problems?.Add($"Route '{id}': metadata '{CsrfKey}' has unknown value '{value}'; use true or false");
                }
            }
            else if (Is(key, ScopeKey))
            {
                scope = value;
                if (!TokenTarget.IsScopeList(value))
                {
                    problems?.Add($"Route '{id}': metadata '{ScopeKey}' has unusable value '{value}'; use space-separated OAuth scopes such as 'orders.read orders.write'");
                }
            }
            else if (Is(key, ResourceKey))
            {
                resource = value;
                if (!TokenTarget.IsResourceIndicator(value))
                {
                    problems?.Add($"Route '{id}': metadata '{ResourceKey}' has unusable value '{value}'; use an absolute URI without a fragment, such as 'https://api.example.com/orders' (RFC 8707)");
                }
            }
            else if (Is(key, CsrfOffKey))
            {
                csrfOff = value;
                if (!string.Equals(value, CsrfOffAcknowledgement, StringComparison.OrdinalIgnoreCase))
                {
                    problems?.Add($"Route '{id}': metadata '{CsrfOffKey}' has unknown value '{value}'; its only value is {CsrfOffAcknowledgement}");
                }
            }
            else if (Is(key, SetCookieKey))
            {
                if (!TryParseUpstreamCookies(value, out upstreamCookies))
                {
                    problems?.Add($"Route '{id}': metadata '{SetCookieKey}' has unknown value '{value}'; use Drop or Allow");
                }
            }
            else if (Is(key, KeepRequestHeadersKey))
            {
                stripped = RiskyRequestHeaders.Except(value, out var unknown);
                if (unknown is not null)
                {
                    problems?.Add($"Route '{id}': metadata '{KeepRequestHeadersKey}' names '{unknown}', which is not a header the gateway removes; use a comma-separated list of: {string.Join(", ", RiskyRequestHeaders.Names)}");
                }
            }
            else if (Is(key, AcrKey))
            {
                stepUpKeys = true;
                if (!StepUpRequirement.TryParseAcrList(value, out acrValues))
                {
                    problems?.Add($"Route '{id}': metadata '{AcrKey}' has unusable value '{value}'; use comma-separated acr values such as 'mfa' or 'urn:example:loa:2, urn:example:loa:3' (visible ASCII, no quotes, backslashes or repeats, {StepUpRequirement.MaxAcrValuesLength} characters at most)");
                }
            }
            else if (Is(key, MaxAgeKey))
            {
                stepUpKeys = true;
                if (StepUpRequirement.TryParseMaxAge(value, out var seconds))
                {
                    maxAge = seconds;
                }
                else
                {
                    problems?.Add($"Route '{id}': metadata '{MaxAgeKey}' has unusable value '{value}'; use the seconds since the user's sign-in as a plain whole number, such as '300'");
                }
            }
            else if (Is(key, DPoPMetadataKey))
            {
                if (!TryParseDPoP(value, out dpop))
                {
                    problems?.Add($"Route '{id}': metadata '{DPoPMetadataKey}' has unknown value '{value}'; use Auto, Require or Bearer");
                }
            }
            else
            {
                problems?.Add($"Route '{id}': metadata '{key}' is not known; use {KnownKeys}");
            }
        }

        // A cross-site form can POST to a route without the CSRF check, and the browser sends the session cookie with
        // it: the gateway would attach the user's token to a request the user never made.
        var csrfOffAcknowledged = csrfOff is not null && string.Equals(csrfOff, CsrfOffAcknowledgement, StringComparison.OrdinalIgnoreCase);
        if (!requireCsrf && token != RouteToken.None && !csrfOffAcknowledged)
        {
            problems?.Add($"Route '{id}': metadata '{CsrfKey}' false lets a cross-site form call the API with the token this route attaches ('{TokenKey}' {token}); add '{CsrfOffKey}': '{CsrfOffAcknowledgement}' to accept that, or keep '{CsrfKey}' true");
        }
        else if (csrfOff is not null && (requireCsrf || token == RouteToken.None))
        {
            problems?.Add($"Route '{id}': metadata '{CsrfOffKey}' has no effect here; it only acknowledges '{CsrfKey}' false on a route whose '{TokenKey}' is not None");
        }

        if (token == RouteToken.None && (scope is not null || resource is not null))
        {
            problems?.Add($"Route '{id}': metadata '{ScopeKey}' and '{ResourceKey}' have no effect with '{TokenKey}' None; remove them or choose a token");
        }

        // A step-up is a property of the signed-in user's session: a route that may be called without one (or with the
        // gateway's own token) would forward such calls without any check.
        if (stepUpKeys && token != RouteToken.User)
        {
            problems?.Add($"Route '{id}': metadata '{AcrKey}' and '{MaxAgeKey}' need '{TokenKey}' User (the call must carry a signed-in user's session to be checked); this route has {token}");
        }

        if (token == RouteToken.None && dpop != RouteDPoP.Auto)
        {
            problems?.Add($"Route '{id}': metadata '{DPoPMetadataKey}' {dpop} has no effect with '{TokenKey}' None; remove it or choose a token");
        }

        var stepUp = acrValues.Count > 0 || maxAge is not null ? new StepUpRequirement(acrValues, maxAge) : null;
        var target = scope is null && resource is null && dpop != RouteDPoP.Bearer
            ? TokenTarget.Default
            : new TokenTarget(scope, resource) { WithoutDPoP = dpop == RouteDPoP.Bearer };
        return new RoutePolicy(id, token, requireCsrf, target, upstreamCookies, stripped, csrfOffAcknowledged && !requireCsrf, stepUp, dpop);
    }

    private static bool Is(string key, string known) => string.Equals(key, known, StringComparison.OrdinalIgnoreCase);

    private static bool TryParseToken(string? value, out RouteToken token)
    {
        // Not Enum.TryParse: it would accept "1" or "User,Client".
        foreach (var candidate in Enum.GetValues<RouteToken>())
        {
            if (string.Equals(value, candidate.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                token = candidate;
                return true;
            }
        }

        token = RouteToken.User;
        return false;
    }

    private static bool TryParseDPoP(string? value, out RouteDPoP mode)
    {
        foreach (var candidate in Enum.GetValues<RouteDPoP>())
        {
            if (string.Equals(value, candidate.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                mode = candidate;
                return true;
            }
        }

        mode = RouteDPoP.Auto;
        return false;
    }

    private static bool TryParseUpstreamCookies(string? value, out UpstreamCookies mode)
    {
        foreach (var candidate in Enum.GetValues<UpstreamCookies>())
        {
            if (string.Equals(value, candidate.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                mode = candidate;
                return true;
            }
        }

        mode = UpstreamCookies.Drop;
        return false;
    }
}
