using Bff.Errors;

namespace Bff;

/// <summary>
/// An access token for a downstream call, or why there is none: an expected failure is a result, not an exception.
/// A failed result answers the caller as the proxy would (<see cref="ToProblem"/>).
/// </summary>
public sealed class BffAccessTokenResult
{
    private const string BearerPrefix = "Bearer ";
    private const string DPoPPrefix = "DPoP ";

    private readonly BffError? _error;
    private readonly Func<HttpMethod, Uri, string>? _prove;

    private BffAccessTokenResult(string? accessToken, BffError? error, TimeSpan? retryAfter, Func<HttpMethod, Uri, string>? prove = null)
    {
        AccessToken = accessToken;
        _error = error;
        RetryAfter = retryAfter ?? error?.RetryAfter;
        _prove = prove;
        TokenType = accessToken is null ? null : prove is null ? "Bearer" : "DPoP";
    }

    /// <summary>True when <see cref="AccessToken"/> holds a token; false when <see cref="Error"/> says why not.</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(AccessToken))]
    public bool Succeeded => AccessToken is not null;

    /// <summary>
    /// The access token, to send as <c>Authorization: Bearer {AccessToken}</c>. Never log it. Null when the result failed.
    /// </summary>
    public string? AccessToken { get; }

    /// <summary>
    /// How <see cref="AccessToken"/> is presented: <c>Bearer</c>, or <c>DPoP</c> when the provider bound it to the
    /// gateway's key (RFC 9449, <c>Bff:DPoP</c>); a DPoP token is refused by an API unless each request carries a proof
    /// of possession, which <see cref="Authorize"/> adds. Null when the result failed.
    /// </summary>
    public string? TokenType { get; }

    /// <summary>
    /// Sets the <c>Authorization</c> header of a request to a downstream API (<c>Bearer …</c> or <c>DPoP …</c>) and, for a
    /// DPoP token, a <c>DPoP</c> header with a proof of exactly this request: its method and URL (without query and
    /// fragment), the token's hash and the latest nonce that API's origin gave the gateway. Call it again for every
    /// request sent, retries included: a proof is good for one request only. Never log either header.
    /// </summary>
    /// <param name="request">The request, with its method and absolute URL already set.</param>
    /// <exception cref="InvalidOperationException">The result failed, or the request has no absolute URL.</exception>
    public void Authorize(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (AccessToken is null)
        {
            throw new InvalidOperationException("A failed token result cannot authorize a request.");
        }

        if (request.RequestUri is not { IsAbsoluteUri: true } target)
        {
            throw new InvalidOperationException("The request needs an absolute URL before it can be authorized.");
        }

        request.Headers.Authorization = new(TokenType!, AccessToken);
        request.Headers.Remove("DPoP");
        if (_prove is not null)
        {
            request.Headers.TryAddWithoutValidation("DPoP", _prove(request.Method, target));
        }
    }

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

    /// <summary>A DPoP-bound token, with what makes its proofs.</summary>
    internal static BffAccessTokenResult FromDPoPAuthorization(string authorization, Func<HttpMethod, Uri, string> prove) =>
        new(authorization.StartsWith(DPoPPrefix, StringComparison.Ordinal) ? authorization[DPoPPrefix.Length..] : authorization, null, null, prove);

    internal static BffAccessTokenResult Fail(BffError error, TimeSpan? retryAfter = null) => new(null, error, retryAfter);

    private sealed class ProblemResult(BffError error, TimeSpan? retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => BffProblem.WriteAsync(httpContext, error, retryAfter: retryAfter);
    }
}
