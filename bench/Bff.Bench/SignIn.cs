using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace Bff.Bench;

/// <summary>
/// A scripted browser that signs in through the gateway the way a user does: <c>/bff/login</c>, the provider's login
/// form, its consent page, the gateway's callback. The provider's session is signed in once and shared, so every further
/// sign-in is the plain authorization code + PKCE round trip, and every one makes a real, separate gateway session.
/// Writes the first session's <c>Cookie</c> header to a file (for the load generator) and prints what it measured.
/// </summary>
internal static partial class SignIn
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Parse(args);
        var gateway = new Uri(options.GetValueOrDefault("gateway") ?? throw new ArgumentException("--gateway URL is required."));
        var count = int.Parse(options.GetValueOrDefault("count") ?? "1", System.Globalization.CultureInfo.InvariantCulture);
        var parallel = int.Parse(options.GetValueOrDefault("parallel") ?? "4", System.Globalization.CultureInfo.InvariantCulture);
        var user = options.GetValueOrDefault("user") ?? "alice";
        var password = options.GetValueOrDefault("password") ?? "alice";
        var cookieOut = options.GetValueOrDefault("cookie-out");

        using var http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            MaxConnectionsPerServer = parallel * 2,
        })
        { Timeout = TimeSpan.FromSeconds(30) };

        // The provider's cookies (its login session) are shared by all sign-ins; the gateway's are per sign-in.
        var provider = new CookieJar();
        var first = await SignInOnceAsync(http, gateway, provider, user, password);
        if (cookieOut is not null)
        {
            await File.WriteAllTextAsync(cookieOut, first.CookieHeader);
        }

        Console.WriteLine($"session-cookie-header-bytes={first.CookieHeader.Length}");
        Console.WriteLine($"session-set-cookie-bytes={first.SetCookie.Length}");

        var stopwatch = Stopwatch.StartNew();
        var failures = 0;
        await Parallel.ForEachAsync(Enumerable.Range(1, count - 1), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (_, _) =>
        {
            try
            {
                await SignInOnceAsync(http, gateway, provider, user, password);
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException or TaskCanceledException)
            {
                if (Interlocked.Increment(ref failures) == 1)
                {
                    Console.Error.WriteLine($"sign-in failed: {e.Message}");
                }
            }
        });

        Console.WriteLine($"sessions={count - failures} failures={failures} seconds={stopwatch.Elapsed.TotalSeconds:F1}");
        return failures == 0 ? 0 : 1;
    }

    private static async Task<(string CookieHeader, string SetCookie)> SignInOnceAsync(
        HttpClient http, Uri gateway, CookieJar provider, string user, string password)
    {
        var gatewayCookies = new CookieJar();
        var next = new Uri(gateway, "/bff/login?returnUrl=%2F");
        HttpContent? form = null;
        for (var step = 0; step < 12; step++)
        {
            var onGateway = next.Authority == gateway.Authority;
            var jar = onGateway ? gatewayCookies : provider;
            using var request = new HttpRequestMessage(form is null ? HttpMethod.Get : HttpMethod.Post, next) { Content = form };
            if (jar.Header() is { Length: > 0 } cookieHeader)
            {
                request.Headers.TryAddWithoutValidation("Cookie", cookieHeader);
            }

            using var response = await http.SendAsync(request);
            form = null;
            string? sessionSetCookie = null;
            if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
            {
                foreach (var setCookie in setCookies)
                {
                    if (jar.Apply(setCookie) == "__Host-bff")
                    {
                        sessionSetCookie = setCookie;
                    }
                }
            }

            if (onGateway && sessionSetCookie is not null && gatewayCookies.Get("__Host-bff") is { } session)
            {
                return ($"__Host-bff={session}", sessionSetCookie);
            }

            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                next = new Uri(next, location);
                continue;
            }

            var html = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"{(int)response.StatusCode} from {next.GetLeftPart(UriPartial.Path)}");
            }

            // The provider's login form or its consent page: submit it as the user would.
            var fields = HiddenInputs(html);
            if (html.Contains("name=\"password\"", StringComparison.Ordinal))
            {
                fields["username"] = user;
                fields["password"] = password;
                next = new Uri(next, "/account/login");
            }
            else if (html.Contains("id=\"consent-accept\"", StringComparison.Ordinal))
            {
                fields["consent"] = "accept";
                next = new Uri(next, "/connect/authorize");
            }
            else
            {
                throw new InvalidOperationException($"Unexpected page at {next.GetLeftPart(UriPartial.Path)}.");
            }

            form = new FormUrlEncodedContent(fields);
        }

        throw new InvalidOperationException("The sign-in did not end at the gateway.");
    }

    private static Dictionary<string, string> HiddenInputs(string html)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match match in HiddenInput().Matches(html))
        {
            fields[WebUtility.HtmlDecode(match.Groups[1].Value)] = WebUtility.HtmlDecode(match.Groups[2].Value);
        }

        return fields;
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]*)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();

    private static Dictionary<string, string> Parse(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        return options;
    }

    /// <summary>Cookies of one host by name; a Set-Cookie that expires them removes them. Paths are not needed here.</summary>
    private sealed class CookieJar
    {
        private readonly ConcurrentDictionary<string, string> _cookies = new(StringComparer.Ordinal);

        public string? Get(string name) => _cookies.GetValueOrDefault(name);

        public string Header() => string.Join("; ", _cookies.Select(c => $"{c.Key}={c.Value}"));

        public string Apply(string setCookie)
        {
            var pair = setCookie.Split(';', 2)[0];
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = pair[..equals].Trim();
            var value = pair[(equals + 1)..].Trim();
            var expired = value.Length == 0
                || setCookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase)
                || setCookie.Contains("max-age=0", StringComparison.OrdinalIgnoreCase);
            if (expired)
            {
                _cookies.TryRemove(name, out _);
            }
            else
            {
                _cookies[name] = value;
            }

            return name;
        }
    }
}
