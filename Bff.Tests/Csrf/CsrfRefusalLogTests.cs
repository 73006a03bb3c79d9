using System.Net;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;

namespace Bff.Tests.Csrf;

/// <summary>
/// Any page on the web can make a browser send API calls without <c>X-CSRF</c>, as fast as it likes: every one is
/// refused, but the log gets one line a minute that counts them, not a line each.
/// </summary>
public sealed class CsrfRefusalLogTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() => _host = await ProxyTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_flood_of_calls_without_the_header_is_refused_and_logged_once_a_minute()
    {
        using var browser = _host.Gateway.CreateBrowser();

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/orders")).StatusCode);
        }

        var first = Assert.Single(Lines());
        Assert.Contains("(1 such refusals", first.Message, StringComparison.Ordinal);
        Assert.Empty(_host.Api.Received);

        _host.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/orders")).StatusCode);

        var lines = Lines();
        Assert.Equal(2, lines.Count);
        Assert.Contains("(50 such refusals", lines[1].Message, StringComparison.Ordinal);
    }

    private List<CapturingLoggerProvider.LogLine> Lines() => [.. _host.Gateway.Logs.Lines.Where(l => l.EventId.Id == 4001)];
}
