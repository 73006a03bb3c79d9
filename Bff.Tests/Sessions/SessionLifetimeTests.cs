using System.Net;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Sessions;

public sealed class SessionLifetimeTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly GatewayFactory _gateway;

    public SessionLifetimeTests() => _gateway = new GatewayFactory(
        _idp,
        new Dictionary<string, string?>
        {
            ["Bff:Session:IdleTimeout"] = "00:20:00",
            ["Bff:Session:AbsoluteTimeout"] = "01:00:00",
        },
        time: _time);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public async Task Session_ends_after_the_idle_timeout()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        _time.Advance(TimeSpan.FromMinutes(19));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);

        _time.Advance(TimeSpan.FromMinutes(21));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task Activity_slides_the_idle_timeout_but_never_past_the_absolute_limit()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        // Active every 15 minutes: the idle limit (20 min) keeps moving.
        for (var i = 0; i < 3; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(15));
            Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        }

        // 60 minutes after sign-in the absolute limit ends it, however active the user is.
        _time.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }
}
