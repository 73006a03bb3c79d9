using Bff.Errors;

namespace Bff.Tokens;

/// <summary>
/// The answer to "which Authorization header does this request carry upstream?": a header value, no header at all
/// (<see cref="None"/>), or the error to answer the caller with instead of forwarding.
/// </summary>
internal readonly record struct TokenResult(string? Authorization, BffError? Error, TimeSpan? RetryAfter = null)
{
    public static TokenResult None => default;

    public bool Succeeded => Error is null;

    public static TokenResult Header(string authorization) => new(authorization, null);

    public static TokenResult Fail(BffError error, TimeSpan? retryAfter = null) => new(null, error, retryAfter);
}
