using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;

namespace Bff.Demo.Identity.Account;

/// <summary>The provider's few HTML pages. Every value is HTML-encoded; nothing is rendered from raw input.</summary>
internal static class Pages
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static IResult Login(AntiforgeryTokenSet tokens, string returnUrl, string? userName, string? error) =>
        Page("Sign in", $"""
            <h1>Sign in to the demo provider</h1>
            {(error is null ? "" : $"<p class=\"error\" id=\"login-error\">{Html.Encode(error)}</p>")}
            <form method="post" action="/account/login">
              {Antiforgery(tokens)}
              <input type="hidden" name="returnUrl" value="{Html.Encode(returnUrl)}">
              <label>User name <input name="username" id="username" autocomplete="username" value="{Html.Encode(userName ?? "")}" required autofocus></label>
              <label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label>
              <button type="submit" id="login-submit">Sign in</button>
            </form>
            <p class="hint">Demo users: <code>alice</code> / <code>alice</code> and <code>bob</code> / <code>bob</code>.</p>
            """, statusCode: error is null ? 200 : 401);

    public static IResult Consent(
        AntiforgeryTokenSet tokens,
        string clientName,
        string userName,
        IEnumerable<string> scopes,
        IEnumerable<KeyValuePair<string, string?>> requestParameters)
    {
        var hidden = new StringBuilder();
        foreach (var (name, value) in requestParameters)
        {
            hidden.Append(CultureInvariant($"<input type=\"hidden\" name=\"{Html.Encode(name)}\" value=\"{Html.Encode(value ?? "")}\">"));
        }

        var items = string.Concat(scopes.Select(s => $"<li><code>{Html.Encode(s)}</code> {Html.Encode(Describe(s))}</li>"));
        return Page("Consent", $"""
            <h1>Allow {Html.Encode(clientName)}?</h1>
            <p>Signed in as <strong>{Html.Encode(userName)}</strong>. <strong>{Html.Encode(clientName)}</strong> asks to:</p>
            <ul class="scopes">{items}</ul>
            <form method="post" action="/connect/authorize">
              {Antiforgery(tokens)}
              {hidden}
              <button type="submit" name="consent" value="accept" id="consent-accept">Allow</button>
              <button type="submit" name="consent" value="deny" id="consent-deny" class="secondary">Deny</button>
            </form>
            """);
    }

    public static IResult Home(string? userName) => Page("Demo provider", userName is null
        ? """
          <h1>Demo OpenID provider</h1>
          <p>You are not signed in here. Applications send you to this provider when you sign in to them.</p>
          """
        : $"""
          <h1>Demo OpenID provider</h1>
          <p>You are signed in here as <strong id="provider-user">{Html.Encode(userName)}</strong>.</p>
          <p><a href="/account/logout" id="provider-logout-link">Sign out of the provider</a> (applications you signed in to are told through back-channel logout).</p>
          """);

    public static IResult ConfirmLogout(AntiforgeryTokenSet tokens, string userName) => Page("Sign out", $"""
        <h1>Sign out of the demo provider?</h1>
        <p>You are signed in as <strong>{Html.Encode(userName)}</strong>. Signing out here also ends your sessions in the applications you signed in to.</p>
        <form method="post" action="/account/logout">
          {Antiforgery(tokens)}
          <button type="submit" id="provider-logout">Sign out everywhere</button>
        </form>
        """);

    public static IResult SignedOut() => Page("Signed out", """
        <h1>You are signed out</h1>
        <p id="signed-out">The provider has ended your session and notified the applications you used.</p>
        """);

    public static IResult Error(string message, int statusCode) => Page("Error", $"""
        <h1>Something is not right</h1>
        <p class="error">{Html.Encode(message)}</p>
        """, statusCode);

    private static string Antiforgery(AntiforgeryTokenSet tokens) =>
        $"<input type=\"hidden\" name=\"{Html.Encode(tokens.FormFieldName)}\" value=\"{Html.Encode(tokens.RequestToken ?? "")}\">";

    private static string Describe(string scope) => scope switch
    {
        "openid" => "know who you are",
        "profile" => "see your name and user name",
        "email" => "see your e-mail address",
        "offline_access" => "stay signed in while you are away (refresh tokens)",
        "demo_api" => "call the demo API on your behalf",
        _ => "",
    };

    private static string CultureInvariant(FormattableString value) => FormattableString.Invariant(value);

    private static IResult Page(string title, string body, int statusCode = 200)
    {
        var html = $$"""
            <!doctype html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <meta name="viewport" content="width=device-width, initial-scale=1">
              <title>{{Html.Encode(title)}} · Demo provider</title>
              <style>
                body { font-family: system-ui, sans-serif; background: #f4f1ea; color: #2b2b2b; margin: 0; }
                header { background: #6b3e1f; color: #fff; padding: .8rem 1.5rem; font-weight: 600; }
                main { max-width: 30rem; margin: 2rem auto; background: #fff; padding: 1.2rem 1.6rem; border-radius: 8px; box-shadow: 0 1px 3px #0002; }
                h1 { font-size: 1.25rem; }
                label { display: block; margin: .6rem 0; }
                input:not([type=hidden]) { display: block; width: 100%; padding: .4rem; margin-top: .2rem; box-sizing: border-box; }
                button { font: inherit; padding: .45rem 1rem; border-radius: 6px; border: 1px solid #6b3e1f; background: #6b3e1f; color: #fff; margin-right: .5rem; }
                button.secondary { background: #fff; color: #6b3e1f; }
                .error { background: #fdecec; border-left: 4px solid #c0392b; padding: .4rem .7rem; }
                .hint { color: #666; font-size: .9rem; }
              </style>
            </head>
            <body>
              <header>Demo OpenID provider · not for production</header>
              <main>{{body}}</main>
            </body>
            </html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, statusCode);
    }
}
