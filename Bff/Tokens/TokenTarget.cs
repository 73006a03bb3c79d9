namespace Bff.Tokens;

/// <summary>
/// What a token is for: the default audience of the sign-in (no scope, no resource), or a narrower one named by a
/// route's <c>Bff.Scope</c> / <c>Bff.Resource</c> (RFC 8707). Value equality, so it can key caches.
/// </summary>
internal sealed record TokenTarget(string? Scope, string? Resource)
{
    public static readonly TokenTarget Default = new(null, null);

    public bool IsDefault => Scope is null && Resource is null;

    /// <summary>For log lines: says which audience without any secret in it.</summary>
    public override string ToString() => IsDefault ? "default" : $"scope '{Scope}', resource '{Resource}'";
}
