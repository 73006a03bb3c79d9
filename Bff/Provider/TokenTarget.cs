namespace Bff.Provider;

/// <summary>
/// What a token is for: the default audience of the sign-in (no scope, no resource), or a narrower one named by a
/// route's <c>Bff.Scope</c> / <c>Bff.Resource</c> (RFC 8707). Value equality, so it can key caches.
/// </summary>
internal sealed record TokenTarget(string? Scope, string? Resource)
{
    public static readonly TokenTarget Default = new(null, null);

    /// <summary>
    /// The token is requested without a DPoP proof, so a provider that issues both kinds issues a bearer token (a
    /// route's <c>Bff.DPoP</c> <c>Bearer</c>, for an API that cannot check proofs). Part of the cache key.
    /// </summary>
    public bool WithoutDPoP { get; init; }

    public bool IsDefault => Scope is null && Resource is null && !WithoutDPoP;

    /// <summary>For log lines: says which audience without any secret in it.</summary>
    public override string ToString() =>
        (Scope is null && Resource is null ? "default" : $"scope '{Scope}', resource '{Resource}'") + (WithoutDPoP ? ", bearer" : string.Empty);

    /// <summary>RFC 6749 §3.3: scope tokens of printable ASCII except '"' and '\', separated by single spaces.</summary>
    public static bool IsScopeList(string? value)
    {
        if (string.IsNullOrEmpty(value) || value[0] == ' ' || value[^1] == ' ' || value.Contains("  ", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c != ' ' && (c < 0x21 || c > 0x7E || c == '"' || c == '\\'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 8707 §2: an absolute URI without a fragment (a bare path would read as a file URI on Unix).</summary>
    public static bool IsResourceIndicator(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && !uri.IsFile
        && !value!.Contains('#', StringComparison.Ordinal);
}
