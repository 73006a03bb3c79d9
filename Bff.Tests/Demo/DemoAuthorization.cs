using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Web;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Tests.Demo;

/// <summary>
/// The user's part of a sign-in at the demo provider, over HTTP as a browser would do it: authorize, log in as alice,
/// consent; what comes back is the code for the client's redirect URI.
/// </summary>
internal static partial class DemoAuthorization
{
    public static string Query(string redirectUri, string challenge, params (string Name, string Value)[] extra)
    {
        var query = HttpUtility.ParseQueryString(string.Empty);
        query["client_id"] = "bff";
        query["response_type"] = "code";
        query["redirect_uri"] = redirectUri;
        query["scope"] = "openid profile email offline_access demo_api";
        query["state"] = "s";
        query["code_challenge"] = challenge;
        query["code_challenge_method"] = "S256";
        foreach (var (name, value) in extra)
        {
            query[name] = value;
        }

        return query.ToString()!;
    }

    /// <summary>A code for alice (whose provider cookie <paramref name="http"/> keeps), and the PKCE verifier that redeems it.</summary>
    public static async Task<(string Code, string Verifier)> GetCodeAsync(HttpClient http, string redirectUri, params (string Name, string Value)[] extra)
    {
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var response = await http.GetAsync("/connect/authorize?" + Query(redirectUri, challenge, extra));
        for (var step = 0; step < 6; step++)
        {
            using var current = response;
            {
                var location = current.Headers.Location;
                if (current.StatusCode == HttpStatusCode.Redirect && location is { IsAbsoluteUri: true } && location.AbsoluteUri.StartsWith(redirectUri, StringComparison.Ordinal))
                {
                    var parameters = HttpUtility.ParseQueryString(location.Query);
                    var code = parameters["code"];
                    Assert.False(string.IsNullOrEmpty(code), $"No code: {parameters["error"]} {parameters["error_description"]}");
                    return (code, verifier);
                }

                if (current.StatusCode == HttpStatusCode.Redirect && location is not null)
                {
                    response = await http.GetAsync(location);
                    continue;
                }

                var page = await current.Content.ReadAsStringAsync();
                Assert.True(current.StatusCode == HttpStatusCode.OK, $"The provider answered {(int)current.StatusCode}: {page}");
                if (page.Contains("name=\"password\"", StringComparison.Ordinal))
                {
                    response = await http.PostAsync("/account/login", Form(
                        ("__RequestVerificationToken", Field(page, "__RequestVerificationToken")),
                        ("returnUrl", Field(page, "returnUrl")),
                        ("username", "alice"),
                        ("password", "alice")));
                    continue;
                }

                var fields = HiddenField().Matches(page).Select(m => (WebUtility.HtmlDecode(m.Groups[1].Value), WebUtility.HtmlDecode(m.Groups[2].Value))).ToList();
                fields.Add(("consent", "accept"));
                response = await http.PostAsync("/connect/authorize", Form([.. fields]));
            }
        }

        throw new InvalidOperationException("The provider did not come back with a code within six steps.");
    }

    public static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    private static string Field(string html, string name) =>
        WebUtility.HtmlDecode(Regex.Match(html, $"name=\"{Regex.Escape(name)}\" value=\"([^\"]*)\"").Groups[1].Value);

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenField();
}
