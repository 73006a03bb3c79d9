namespace Bff.Configuration;

/// <summary>How the gateway identifies the user and itself to the provider's end-session endpoint.</summary>
public enum EndSessionHint
{
    /// <summary><c>id_token_hint</c>: the ID token itself. Every provider accepts it; the browser carries the JWT.</summary>
    IdToken,

    /// <summary>
    /// <c>client_id</c> and <c>logout_hint</c> (the ID token's <c>login_hint</c> claim, or else its <c>sid</c>): no
    /// JWT in the browser. Some providers then ask the user to confirm, or only honour the post-logout redirect URI
    /// with an ID token.
    /// </summary>
    ClientId,
}

/// <summary>How sign-out identifies the user to the provider (<c>Bff:Logout</c>).</summary>
public sealed class LogoutSettings
{
    /// <summary>What the end-session request carries: the ID token, or the client id and a logout hint.</summary>
    public EndSessionHint EndSessionHint { get; set; } = EndSessionHint.IdToken;
}
