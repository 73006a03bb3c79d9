using Bff.Errors;

namespace Bff.Tokens;

/// <summary>
/// The answer to "which Authorization header does this request carry upstream?": a header value, no header at all
/// (<see cref="None"/>), or the error to answer the caller with instead of forwarding.
/// </summary>
/// <param name="DPoPThumbprint">The thumbprint of the DPoP key the token is bound to (the header is then <c>DPoP …</c>); null for a bearer token.</param>
internal readonly record struct TokenResult(string? Authorization, BffError? Error, TimeSpan? RetryAfter = null, string? DPoPThumbprint = null)
{
    public static TokenResult None => default;

    public bool Succeeded => Error is null;

    public static TokenResult Header(string authorization, string? dpopKey = null) => new(authorization, null, DPoPThumbprint: dpopKey);

    public static TokenResult Fail(BffError error, TimeSpan? retryAfter = null) => new(null, error, retryAfter);
}
