namespace Bff.Configuration;

/// <summary>
/// The fixed names of the gateway's sign-in cookies (the session cookie's name is a setting, <see cref="CookieSettings"/>).
/// Here, at the bottom, because the sign-in sets them and log redaction must recognise them.
/// </summary>
internal static class CookieNames
{
    /// <summary>The correlation cookie of a pending sign-in, one per attempt (the handler appends an id).</summary>
    public const string SignInCorrelationPrefix = "__Host-bff.correlation.";

    /// <summary>The nonce cookie of a pending sign-in, one per attempt.</summary>
    public const string SignInNoncePrefix = "__Host-bff.nonce.";
}
