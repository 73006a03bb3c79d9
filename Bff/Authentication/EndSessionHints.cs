using Bff.Configuration;
using Bff.Sessions;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;

namespace Bff.Authentication;

/// <summary>
/// What the end-session redirect tells the provider about the user and the client (OpenID Connect RP-Initiated
/// Logout 1.0): the ID token as <c>id_token_hint</c>, or, with <see cref="EndSessionHint.ClientId"/>, <c>client_id</c>
/// (which the provider checks <c>post_logout_redirect_uri</c> against) and <c>logout_hint</c>, so that no JWT with the
/// user's name, email and session id travels through the browser's address bar, history and the provider's logs.
/// </summary>
internal static class EndSessionHints
{
    private const string LogoutHintItem = "bff.logout_hint";

    /// <summary>Request-scoped: the session is already removed when the handler builds the redirect.</summary>
    public static void Remember(HttpContext context, UserSession session)
    {
        if (session.Tokens.IdToken is { } idToken)
        {
            context.Items[OidcEvents.IdTokenHintItem] = idToken;
        }

        // Entra ID takes the ID token's login_hint claim (when the app asks for it); Auth0 and others take the sid.
        var hint = session.Claims.FirstOrDefault(c => c.Type == "login_hint")?.Value ?? session.ProviderSessionId;
        if (!string.IsNullOrEmpty(hint))
        {
            context.Items[LogoutHintItem] = hint;
        }
    }

    public static void Apply(RedirectContext context, EndSessionHint mode, string? clientId)
    {
        var message = context.ProtocolMessage;
        var items = context.HttpContext.Items;
        if (mode == EndSessionHint.ClientId)
        {
            message.IdTokenHint = null;
            message.ClientId = clientId;
            if (items[LogoutHintItem] is string hint)
            {
                message.SetParameter("logout_hint", hint);
            }

            return;
        }

        if (items[OidcEvents.IdTokenHintItem] is string idToken)
        {
            message.IdTokenHint = idToken;
        }
    }
}
