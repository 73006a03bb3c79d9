using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Bff.Observability;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Authentication;

/// <summary>
/// Anonymous clients cannot make the gateway call the provider without limit: sign-in starts (each one a PAR push)
/// and callbacks (each one a token request) are counted per client address, and past the limit answered with 429
/// before the provider is involved.
/// </summary>
public sealed class SignInRateLimitTests : IDisposable
{
    private static readonly IPAddress Client = IPAddress.Parse("203.0.113.7");

    private readonly TestIdentityProvider _idp = new(advertisePar: true);
    private readonly List<GatewayFactory> _gateways = [];

    public void Dispose()
    {
        foreach (var gateway in _gateways)
        {
            gateway.Dispose();
        }

        _idp.Dispose();
    }

    private GatewayFactory Gateway(int permitLimit, string window = "00:10:00", bool? enabled = null, FakeTimeProvider? time = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Bff:RateLimits:SignIn:PermitLimit"] = permitLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Bff:RateLimits:SignIn:Window"] = window,
        };
        if (enabled is { } on)
        {
            settings["Bff:RateLimits:SignIn:Enabled"] = on ? "true" : "false";
        }

        var gateway = new GatewayFactory(_idp, settings, services => RemoteAddress.Use(services, Client), time: time);
        _gateways.Add(gateway);
        return gateway;
    }

    private static Dictionary<string, string> From(string address) => new() { [RemoteAddress.HeaderName] = address };

    [Fact]
    public async Task Sign_in_starts_past_the_limit_get_429_with_Retry_After_and_push_nothing_to_the_provider()
    {
        using var browser = Gateway(permitLimit: 3).CreateBrowser();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login?returnUrl=%2F")).StatusCode);
        }

        var refused = await browser.GetAsync("/bff/login?returnUrl=%2F");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        await AssertProblemAsync(refused, "too_many_requests");
        var retryAfter = int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 600);
        Assert.Equal("no-store", refused.Headers.CacheControl?.ToString());
        Assert.Equal(3, _idp.RequestsTo("/par").Count());
        Assert.DoesNotContain(SetCookie.From(refused), c => c.Name.StartsWith("__Host-bff.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Each_client_address_has_its_own_limit_and_an_IPv6_client_is_counted_by_its_64_bit_prefix()
    {
        using var browser = Gateway(permitLimit: 1).CreateBrowser();
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync("/bff/login")).StatusCode);

        // Another IPv4 client is unaffected; so is the same address seen as IPv4-mapped IPv6, which is the same client.
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login", From("203.0.113.8"))).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync("/bff/login", From("::ffff:203.0.113.7"))).StatusCode);

        // An IPv6 host has a whole /64 to pick addresses from: they count as one client.
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login", From("2001:db8:1:2::1"))).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync("/bff/login", From("2001:db8:1:2:ffff:abcd::9"))).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login", From("2001:db8:1:3::1"))).StatusCode);
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit_and_others_cannot_spoof_one()
    {
        var gateway = new GatewayFactory(
            _idp,
            new Dictionary<string, string?>
            {
                ["Bff:RateLimits:SignIn:PermitLimit"] = "1",
                ["Bff:ForwardedHeaders:KnownProxies"] = "10.0.0.5",
            },
            services => RemoteAddress.Use(services, IPAddress.Parse("10.0.0.5")));
        _gateways.Add(gateway);
        using var browser = gateway.CreateBrowser();
        Dictionary<string, string> Forwarded(string client, string? peer = null)
        {
            var headers = new Dictionary<string, string> { ["X-Forwarded-For"] = client };
            if (peer is not null)
            {
                headers[RemoteAddress.HeaderName] = peer;
            }

            return headers;
        }

        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login", Forwarded("198.51.100.1"))).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync("/bff/login", Forwarded("198.51.100.1"))).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login", Forwarded("198.51.100.2"))).StatusCode);

        // A client that is not a trusted proxy cannot pose as a new client with every request.
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login", Forwarded("198.51.100.3", peer: "203.0.113.50"))).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync("/bff/login", Forwarded("198.51.100.4", peer: "203.0.113.50"))).StatusCode);
    }

    [Fact]
    public async Task Callbacks_past_the_limit_get_429_without_a_token_request()
    {
        using var browser = Gateway(permitLimit: 2).CreateBrowser();
        var authorize = await browser.StartSignInAsync(_idp);
        var code = _idp.IssueCode(authorize.Nonce);

        // Two junk callbacks (no such state) use up this client's callbacks.
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync("/signin-oidc?code=junk&state=junk")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync("/signin-oidc?code=junk&state=junk")).StatusCode);

        var refused = await browser.GetAsync(BrowserClient.CallbackUrl(code, authorize.State));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        await AssertProblemAsync(refused, "too_many_requests");
        Assert.True(refused.Headers.Contains("Retry-After"));
        Assert.Equal(0, _idp.TokenRequests);

        // Starts and callbacks are counted apart: this client may still start a sign-in.
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login")).StatusCode);
    }

    [Fact]
    public async Task Other_requests_are_not_limited()
    {
        var gateway = Gateway(permitLimit: 1);
        using var browser = gateway.CreateBrowser();
        await browser.GetAsync("/bff/login");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync("/bff/login")).StatusCode);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/health/live")).StatusCode);
            Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/logout?sid=x")).StatusCode);
        }
    }

    [Fact]
    public async Task The_limit_can_be_switched_off()
    {
        using var browser = Gateway(permitLimit: 1, enabled: false).CreateBrowser();

        for (var i = 0; i < 25; i++)
        {
            Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login")).StatusCode);
        }
    }

    [Fact]
    public async Task By_default_a_client_may_start_twenty_sign_ins_a_minute()
    {
        var gateway = new GatewayFactory(_idp, services: services => RemoteAddress.Use(services, Client));
        _gateways.Add(gateway);
        using var browser = gateway.CreateBrowser();

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login")).StatusCode);
        }

        var refused = await browser.GetAsync("/bff/login");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
    }

    [Fact]
    public async Task Refusals_are_counted_and_logged_at_most_once_a_minute()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = Gateway(permitLimit: 1, time: time);
        using var browser = gateway.CreateBrowser();
        var measurements = new List<(long Value, string? Endpoint)>();
        using var listener = Listen(gateway, measurements);

        await browser.GetAsync("/bff/login");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync("/bff/login")).StatusCode);
        }

        Assert.Equal(5, measurements.Where(m => m.Endpoint == "/bff/login").Sum(m => m.Value));
        var first = Assert.Single(RateLimitLines(gateway));
        Assert.StartsWith("Refused 1 ", first.Message, StringComparison.Ordinal);

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync("/bff/login")).StatusCode);

        var lines = RateLimitLines(gateway);
        Assert.Equal(2, lines.Count);
        // The four refusals since the first line, and this one.
        Assert.StartsWith("Refused 5 ", lines[1].Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Client.ToString(), string.Join('\n', lines.Select(l => l.Message)), StringComparison.Ordinal);
    }

    private static List<CapturingLoggerProvider.LogLine> RateLimitLines(GatewayFactory gateway) =>
        [.. gateway.Logs.Lines.Where(l => l.EventId.Id == 2020)];

    private static MeterListener Listen(GatewayFactory gateway, List<(long Value, string? Endpoint)> measurements)
    {
        var meter = gateway.Services.GetRequiredService<BffMetrics>().Meter;
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == meter && instrument.Name == "bff.sign_in.rate_limited")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? endpoint = null;
            foreach (var tag in tags)
            {
                if (tag.Key == TelemetryNames.Attributes.Endpoint)
                {
                    endpoint = tag.Value as string;
                }
            }

            lock (measurements)
            {
                measurements.Add((value, endpoint));
            }
        });
        listener.Start();
        return listener;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, string code)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, json.RootElement.GetProperty("error").GetString());
        Assert.Equal(429, json.RootElement.GetProperty("status").GetInt32());
    }
}
