namespace Bff.DPoP;

/// <summary>
/// Makes a fresh client assertion (<c>private_key_jwt</c>) for a token request that must be sent once more with a
/// provider's DPoP nonce: the first request's assertion may have been recorded by the provider (its <c>jti</c> is
/// single-use), so it is never sent twice. Without an implementation registered, such a request is not retried; the
/// nonce is remembered and the next request carries it from the start.
/// </summary>
internal interface IClientAssertionRenewal
{
    /// <summary>A new assertion for <paramref name="tokenEndpoint"/>, or null when none can be made.</summary>
    ValueTask<string?> CreateAsync(Uri tokenEndpoint, CancellationToken cancellationToken);
}
