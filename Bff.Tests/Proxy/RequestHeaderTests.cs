namespace Bff.Tests.Proxy;

/// <summary>
/// Request headers that servers and frameworks behind the gateway may trust to rewrite the URL or method or to name
/// the client, sent by a page to a real Kestrel gateway: removed unless the route keeps them.
/// </summary>
public sealed class RequestHeaderTests : IAsyncLifetime
{
    public static readonly TheoryData<string> RiskyHeaders = new()
    {
        "X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
        "X-Original-Method", "X-Real-IP", "X-Client-IP", "True-Client-IP", "X-Cluster-Client-IP", "CF-Connecting-IP",
        "Fastly-Client-IP", "X-ProxyUser-Ip", "Client-IP", "X-Originating-IP", "X-Remote-IP", "X-Remote-Addr",
        "X-Forwarded-Server", "X-Forwarded-Port", "X-Forwarded-Scheme", "X-Forwarded-Ssl", "X-Host", "X-Original-Host",
    };

    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() => _host = await ProxyTestHost.StartAsync(kestrel: true, routes: r =>
    {
        r["ReverseProxy:Routes:legacy:ClusterId"] = "api";
        r["ReverseProxy:Routes:legacy:Match:Path"] = "/legacy-api/{**rest}";
        r["ReverseProxy:Routes:legacy:Metadata:Bff.KeepRequestHeaders"] = "X-Real-IP, x-http-method-override";
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [MemberData(nameof(RiskyHeaders))]
    public async Task A_header_the_api_might_trust_does_not_reach_it(string header)
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetAsync("/api/orders", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            [header] = header.Contains("URL", StringComparison.Ordinal) ? "/admin" : "127.0.0.1",
        }));

        Assert.Null(echo.Header(header));
        Assert.Equal("/api/orders", echo.Path);
        Assert.NotNull(echo.Header("Authorization"));
    }

    [Fact]
    public async Task Several_such_headers_in_any_case_are_all_removed_and_the_others_kept()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetAsync("/api/orders", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["x-original-url"] = "/admin",
            ["X-REWRITE-URL"] = "/admin",
            ["true-client-ip"] = "203.0.113.7",
            ["Cf-Connecting-Ip"] = "203.0.113.8",
            ["fastly-client-ip"] = "203.0.113.9",
            ["X-Request-Id"] = "abc",
            ["Traceparent-Like"] = "kept",
        }));

        Assert.Null(echo.Header("X-Original-URL"));
        Assert.Null(echo.Header("X-Rewrite-URL"));
        Assert.Null(echo.Header("True-Client-IP"));
        Assert.Null(echo.Header("CF-Connecting-IP"));
        Assert.Null(echo.Header("Fastly-Client-IP"));
        Assert.Equal("abc", echo.Header("X-Request-Id"));
        Assert.Equal("kept", echo.Header("Traceparent-Like"));
    }

    [Fact]
    public async Task A_route_keeps_the_headers_its_metadata_names_and_no_others()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetAsync("/legacy-api/orders", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["X-Real-IP"] = "203.0.113.7",
            ["X-HTTP-Method-Override"] = "DELETE",
            ["X-Original-URL"] = "/admin",
            ["X-Request-Id"] = "abc",
        }));

        Assert.Equal("203.0.113.7", echo.Header("X-Real-IP"));
        Assert.Equal("DELETE", echo.Header("X-HTTP-Method-Override"));
        Assert.Null(echo.Header("X-Original-URL"));
        Assert.Equal("abc", echo.Header("X-Request-Id"));
    }

    [Fact]
    public async Task The_gateways_own_endpoints_are_not_touched()
    {
        using var browser = _host.CreateBrowser();

        var response = await browser.GetAsync("/bff/login?returnUrl=%2F", new Dictionary<string, string> { ["X-Original-URL"] = "/admin" });

        Assert.Equal(System.Net.HttpStatusCode.Found, response.StatusCode);
    }
}
