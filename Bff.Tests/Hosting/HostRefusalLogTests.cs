using System.Net;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Hosting;

/// <summary>
/// Anyone can send a foreign Host header as fast as they can: every such request is refused, but the log gets one line
/// a minute that counts them, not a line each.
/// </summary>
public sealed class HostRefusalLogTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly GatewayFactory _gateway;

    public HostRefusalLogTests() => _gateway = new GatewayFactory(_idp, time: _time);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public async Task A_flood_of_foreign_hosts_is_refused_and_logged_once_a_minute()
    {
        using var browser = _gateway.CreateBrowser(new Uri("https://evil.example"));

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync("/bff/login?returnUrl=%2F")).StatusCode);
        }

        var first = Assert.Single(Lines());
        Assert.StartsWith("Refused 1 requests", first.Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync("/bff/user")).StatusCode);

        var lines = Lines();
        Assert.Equal(2, lines.Count);
        Assert.StartsWith("Refused 50 requests", lines[1].Message, StringComparison.Ordinal);
        Assert.Contains("'evil.example'", lines[1].Message, StringComparison.Ordinal);
    }

    private List<CapturingLoggerProvider.LogLine> Lines() => [.. _gateway.Logs.Lines.Where(l => l.EventId.Id == 5060)];
}
