using Bff.Errors;

namespace Bff;

/// <summary>
/// An access token for a downstream call, or why there is none: an expected failure is a result, not an exception.
/// A failed result answers the caller as the proxy would (<see cref="ToProblem"/>).
/// </summary>
public sealed class BffAccessTokenResult
{
    private const string BearerPrefix = "Bearer ";

    private readonly BffError? _error;

    private BffAccessTokenResult(string? accessToken, BffError? error, TimeSpan? retryAfter)
    {
        AccessToken = accessToken;
        _error = error;
        RetryAfter = retryAfter ?? error?.RetryAfter;
    }

    /// <summary>True when <see cref="AccessToken"/> holds a token; false when <see cref="Error"/> says why not.</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(AccessToken))]
    public bool Succeeded => AccessToken is not null;

    /// <summary>
    /// The access token, to send as <c>Authorization: Bearer {AccessToken}</c>. Never log it. Null when the result failed.
    /// </summary>
    public string? AccessToken { get; }

    /// <summary>
    /// The stable error code of a failure (<c>unauthenticated</c>, <c>session_expired</c>, <c>session_store_unavailable</c>,
    /// <c>token_refresh_unavailable</c>; the README's error table), or null on success.
    /// </summary>
    public string? Error => _error?.Code;

    /// <summary>The HTTP status to answer the caller with: 200 on success, else the error's (401 or 503).</summary>
    public int StatusCode => _error?.Status ?? StatusCodes.Status200OK;

    /// <summary>For a temporary failure (503), how long the caller should wait before trying again.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>
    /// The failure as the gateway answers it everywhere: Problem Details with the error code, <c>Retry-After</c> where it
    /// applies, <c>Cache-Control: no-store</c>. Return it from a minimal-API handler or a controller action.
    /// </summary>
    /// <exception cref="InvalidOperationException">The result succeeded.</exception>
    public IResult ToProblem() =>
        _error is { } error
            ? new ProblemResult(error, RetryAfter)
            : throw new InvalidOperationException("A successful token result has no problem to answer with.");

    internal static BffAccessTokenResult FromAuthorization(string authorization) =>
        new(authorization.StartsWith(BearerPrefix, StringComparison.Ordinal) ? authorization[BearerPrefix.Length..] : authorization, null, null);

    internal static BffAccessTokenResult Fail(BffError error, TimeSpan? retryAfter = null) => new(null, error, retryAfter);

    private sealed class ProblemResult(BffError error, TimeSpan? retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => BffProblem.WriteAsync(httpContext, error, retryAfter: retryAfter);
    }
}
