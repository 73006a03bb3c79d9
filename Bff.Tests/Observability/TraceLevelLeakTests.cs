using System.Net;
using System.Net.Sockets;
using System.Text;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Observability;

/// <summary>
/// The README's promise that no cookie value reaches the log at any level, held on real Kestrel with every category at
/// Trace: the framework's own (hosting, routing, authentication, Kestrel and its bad-request log, YARP, HttpClient)
/// included. A whole visit (<see cref="SecretJourney"/>), then requests malformed so that Kestrel rejects them and logs
/// why, each carrying a live session key in its <c>Cookie</c> header; then every captured line (message, structured
/// state, exception) is searched for every secret that passed.
/// </summary>
public sealed class TraceLevelLeakTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> EverythingAtTrace = new()
    {
        ["Logging:LogLevel:Default"] = "Trace",
        ["Logging:LogLevel:System"] = "Trace",
        ["Logging:LogLevel:System.Net.Http"] = "Trace",
        ["Logging:LogLevel:Microsoft"] = "Trace",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
        ["Logging:LogLevel:Microsoft.AspNetCore.Server.Kestrel"] = "Trace",
        ["Logging:LogLevel:Microsoft.AspNetCore.Server.Kestrel.BadRequests"] = "Trace",
        ["Logging:LogLevel:Microsoft.AspNetCore.Server.Kestrel.Connections"] = "Trace",
        ["Logging:LogLevel:Yarp"] = "Trace",
        ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
        ["Logging:LogLevel:Polly"] = "Trace",
    };

    private readonly ReplicaSet _set = new();

    public Task InitializeAsync() => _set.InitializeAsync();

    public Task DisposeAsync() => _set.DisposeAsync();

    [Fact]
    public async Task No_cookie_name_or_value_token_code_or_secret_reaches_any_log_line_at_trace_on_kestrel()
    {
        await using var api = await UpstreamApi.StartAsync();
        var settings = new Dictionary<string, string?>(EverythingAtTrace);
        foreach (var (name, value) in SecretJourney.ApiRoute(api.Address))
        {
            settings[name] = value;
        }

        var gateway = _set.Start(settings);
        var secrets = new SecretJourney.Secrets();
        using var browser = gateway.CreateBrowser();
        await SecretJourney.RunAsync(_set.Idp, browser, secrets);

        // Signed in again: a live session key for the malformed requests to carry.
        await browser.SignInAsync(_set.Idp);
        secrets.AddCookies(browser);
        secrets.AddTokenResponses(_set.Idp);
        var key = browser.CookieValue("__Host-bff")!;
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);

        string[] malformed =
        [
            // A header line without a colon, one with white space before it, one with a NUL, an obs-fold continuation.
            $"GET /bff/user HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie __Host-bff={key}\r\n\r\n",
            $"GET /bff/user HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie : __Host-bff={key}\r\n\r\n",
            $"GET /bff/user HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: __Host-bff={key}\0\r\n\r\n",
            $"GET /bff/user HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Csrf: 1\r\n Cookie: __Host-bff={key}\r\n\r\n",
            $"GET /bff/user HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: theme=dark; __Host-bff={key}\r\nBad Header\r\n\r\n",
            $"GET /bff/user HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie\u0001: __Host-bff={key}\r\n\r\n",
        ];
        var rejected = 0;
        foreach (var request in malformed)
        {
            // Kestrel accepts some of these (a NUL in a value reaches the app as it is): what matters is the log.
            if ((await SendRawAsync(gateway.BaseAddress, request)).StartsWith("HTTP/1.1 400", StringComparison.Ordinal))
            {
                rejected++;
            }
        }

        Assert.True(rejected >= 4, $"Kestrel rejected only {rejected} of the malformed requests.");

        var lines = gateway.Logs.Lines;
        Assert.Contains(lines, l => l.Category == "Microsoft.AspNetCore.Server.Kestrel.BadRequests");
        Assert.Contains(lines, l => l.Category.StartsWith("Yarp.ReverseProxy.Forwarder", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Category.StartsWith("Microsoft.AspNetCore.Authentication.OpenIdConnect", StringComparison.Ordinal) && l.Level == Microsoft.Extensions.Logging.LogLevel.Trace);
        Assert.Contains(lines, l => l.Category.StartsWith("System.Net.Http.HttpClient.", StringComparison.Ordinal) && l.Level == Microsoft.Extensions.Logging.LogLevel.Trace);
        var text = gateway.Logs.AllText;
        var leaks = secrets.All.Where(s => text.Contains(s.Value, StringComparison.Ordinal)).Select(s => s.Key).ToArray();
        Assert.True(leaks.Length == 0, "Found in the Trace log: " + string.Join(", ", leaks) + "\n"
            + string.Join("\n", lines.Select(l => l.ToString()).Where(l => secrets.All.Any(s => l.Contains(s.Value, StringComparison.Ordinal))).Take(20)));
    }

    /// <summary>Writes <paramref name="request"/> as it is on a new connection and reads the answer until Kestrel closes it.</summary>
    private static async Task<string> SendRawAsync(Uri server, string request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), timeout.Token);
        var response = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
        {
            response.Write(buffer, 0, read);
        }

        return Encoding.Latin1.GetString(response.ToArray());
    }
}
