namespace Bff.Authentication;

/// <summary>
/// Where a sign-in starts. The endpoint itself (<c>LoginEndpoint</c>) lives with the other endpoints; the sign-in
/// machinery here needs only its address: to rate-limit it and to restart a sign-in whose state expired.
/// </summary>
internal static class SignInPaths
{
    public const string Login = "/bff/login";

    /// <summary>Starts a new sign-in to <paramref name="returnUrl"/> (already normalised), marked as a restart.</summary>
    public static string Restart(string returnUrl) =>
        $"{Login}?returnUrl={Uri.EscapeDataString(returnUrl)}&restart=1";
}
