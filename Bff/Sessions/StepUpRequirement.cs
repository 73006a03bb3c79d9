using System.Globalization;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Bff.Sessions;

/// <summary>
/// How strong or how recent a session's sign-in must be for a call (step-up): one of the acceptable authentication
/// context classes (<c>acr</c>), and/or a sign-in at most <see cref="MaxAge"/> seconds ago (<c>auth_time</c>). Comes
/// from a route's <c>Bff.Acr</c> / <c>Bff.MaxAge</c>, a local endpoint's <c>RequireStepUp</c>, an API's RFC 9470
/// challenge, or the <c>acr_values</c> / <c>max_age</c> a sign-in asked the provider for. Immutable.
/// </summary>
internal sealed class StepUpRequirement
{
    /// <summary>
    /// Added to <see cref="MaxAge"/> when it is checked: the provider's clock and ours differ a little, and a sign-in
    /// takes a few seconds between the provider's <c>auth_time</c> and the callback. Without it a short max age (or an
    /// API's <c>max_age=0</c>) could never be met and the SPA would loop through sign-ins.
    /// </summary>
    public static readonly TimeSpan Allowance = TimeSpan.FromSeconds(30);

    /// <summary>At most this many characters of acr values, as <c>/bff/login</c> accepts.</summary>
    public const int MaxAcrValuesLength = 512;

    public StepUpRequirement(IReadOnlyList<string> acrValues, int? maxAge)
    {
        if (acrValues.Count == 0 && maxAge is null)
        {
            throw new ArgumentException("A step-up requirement names acceptable acr values, a maximum age, or both.");
        }

        AcrValues = acrValues;
        MaxAge = maxAge;
    }

    /// <summary>Acceptable <c>acr</c> values, in the order the provider is asked for them; empty: any.</summary>
    public IReadOnlyList<string> AcrValues { get; }

    /// <summary>Seconds since the sign-in (<c>auth_time</c>); null: any age.</summary>
    public int? MaxAge { get; }

    /// <summary>The <c>acr_values</c> parameter for the provider (space-separated), or null.</summary>
    public string? AcrValuesParameter => AcrValues.Count == 0 ? null : string.Join(' ', AcrValues);

    /// <summary>For log lines: what is required, never anything of the user's.</summary>
    public string Describe() =>
        (AcrValues.Count, MaxAge) switch
        {
            (> 0, { } age) => $"acr {string.Join('|', AcrValues)}, sign-in within {age} s",
            (> 0, null) => $"acr {string.Join('|', AcrValues)}",
            _ => $"sign-in within {MaxAge} s",
        };

    public bool IsSatisfiedBy(UserSession session, DateTimeOffset now) =>
        IsSatisfiedBy(session.Acr, session.AuthTime, now);

    /// <summary>
    /// True when <paramref name="acr"/> is one of <see cref="AcrValues"/> (exactly, as the provider wrote it) and
    /// <paramref name="authTime"/> is recent enough. An unknown acr or sign-in time never satisfies a requirement on it.
    /// </summary>
    public bool IsSatisfiedBy(string? acr, DateTimeOffset? authTime, DateTimeOffset now)
    {
        if (AcrValues.Count > 0 && (acr is null || !AcrValues.Contains(acr, StringComparer.Ordinal)))
        {
            return false;
        }

        return MaxAge is not { } maxAge
            || (authTime is { } signedIn && now - signedIn <= TimeSpan.FromSeconds(maxAge) + Allowance);
    }

    /// <summary>
    /// The first of an endpoint's requirements (a route's metadata, <c>RequireStepUp</c>) that the session does not
    /// meet, or null when it meets them all.
    /// </summary>
    public static StepUpRequirement? FirstUnmet(IReadOnlyList<StepUpRequirement> requirements, UserSession session, DateTimeOffset now)
    {
        for (var i = 0; i < requirements.Count; i++)
        {
            if (!requirements[i].IsSatisfiedBy(session, now))
            {
                return requirements[i];
            }
        }

        return null;
    }

    /// <summary>
    /// One authentication context class reference as it may travel in a URL and a header: visible ASCII without quote,
    /// backslash or comma (often a URI such as <c>urn:mace:incommon:iap:silver</c>), at most 256 characters.
    /// </summary>
    public static bool IsAcrValue(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > 256)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is <= ' ' or >= '\x7f' or '"' or '\\' or ',')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Space-separated acr values (the form of <c>acr_values</c>); false when one is unusable or repeated.</summary>
    public static bool TryParseAcrValues(string? value, out IReadOnlyList<string> acrValues) =>
        TryParseList(value, ' ', trim: false, out acrValues);

    /// <summary>Comma-separated acr values (a route's <c>Bff.Acr</c>), spaces around them ignored.</summary>
    public static bool TryParseAcrList(string? value, out IReadOnlyList<string> acrValues) =>
        TryParseList(value, ',', trim: true, out acrValues);

    /// <summary>Seconds, as a plain non-negative integer (no sign, no spaces, no exponent, no unit).</summary>
    public static bool TryParseMaxAge(string? value, out int seconds)
    {
        seconds = 0;
        return value is { Length: > 0 and <= 10 } && value.All(char.IsAsciiDigit)
            && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out seconds);
    }

    private static bool TryParseList(string? value, char separator, bool trim, out IReadOnlyList<string> values)
    {
        values = [];
        if (string.IsNullOrEmpty(value) || value.Length > MaxAcrValuesLength)
        {
            return false;
        }

        var parsed = new List<string>();
        foreach (var part in value.Split(separator, trim ? StringSplitOptions.TrimEntries : StringSplitOptions.None))
        {
            if (!IsAcrValue(part) || parsed.Contains(part, StringComparer.Ordinal))
            {
                return false;
            }

            parsed.Add(part);
        }

        values = parsed;
        return true;
    }
}

/// <summary>
/// The <c>acr</c> and <c>auth_time</c> of a sign-in, always from its ID token: userinfo claims and the claim mapping
/// may not stand in for them (a userinfo response or a mapped claim named <c>acr</c> would otherwise decide whether
/// a step-up is needed). Kept in the session as claims of these names, so <c>/bff/user</c> can show them.
/// </summary>
internal readonly record struct SignInStrength(string? Acr, long? AuthTime)
{
    public const string AcrClaim = "acr";
    public const string AuthTimeClaim = "auth_time";

    public static bool IsStrengthClaim(string type) => type is AcrClaim or AuthTimeClaim;

    /// <summary>
    /// Reads an ID token the OpenID Connect handler has already validated (signature, issuer, audience, nonce). A
    /// token that cannot be read gives an unknown strength, which meets no step-up requirement.
    /// </summary>
    public static SignInStrength FromIdToken(string? idToken)
    {
        if (string.IsNullOrEmpty(idToken))
        {
            return default;
        }

        try
        {
            var token = new JsonWebToken(idToken);
            var acr = token.TryGetPayloadValue<string>(AcrClaim, out var value) && IsUsableAcr(value) ? value : null;
            long? authTime = token.TryGetPayloadValue<long>(AuthTimeClaim, out var seconds) && seconds >= 0 ? seconds : null;
            return new SignInStrength(acr, authTime);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return default;
        }
    }

    public DateTimeOffset? AuthenticatedAt =>
        AuthTime is { } seconds && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds() ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;

    public IEnumerable<SessionClaim> AsClaims()
    {
        if (Acr is not null)
        {
            yield return new SessionClaim(AcrClaim, Acr);
        }

        if (AuthTime is { } seconds)
        {
            yield return new SessionClaim(AuthTimeClaim, seconds.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static bool IsUsableAcr(string? value) => value is { Length: > 0 and <= 256 };
}
