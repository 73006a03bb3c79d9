using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.Logging;

namespace Bff.Tests.Tokens;

/// <summary>
/// <c>Bff:Tokens:RefreshBeforeExpiry</c> (60 s by default) against providers whose access tokens live about as long
/// or shorter: the window shrinks to half the token's lifetime, so a session refreshes about once per lifetime.
/// </summary>
public sealed class RefreshWindowTests : IAsyncLifetime
{
    private const int WindowShortenedEventId = 3023;

    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() => _host = await ProxyTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData(60)]
    [InlineData(30)]
    public async Task Short_lived_tokens_are_refreshed_once_per_lifetime_not_on_every_call(int lifetimeSeconds)
    {
        var lifetime = TimeSpan.FromSeconds(lifetimeSeconds);
        _host.Idp.AccessTokenLifetime = lifetime;
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);

        // Ten calls spread over the first (not quite) half of the signed-in token's lifetime.
        await CallTenTimesAsync(browser, lifetime);
        Assert.Equal(0, _host.Idp.RefreshRequests);

        // The effective window (half the lifetime) has started: one refresh, then ten calls on the renewed token.
        _host.Time.Advance(TimeSpan.FromSeconds(lifetimeSeconds / 2.0 - lifetimeSeconds * 0.45 + 1));
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        Assert.Equal(1, _host.Idp.RefreshRequests);

        await CallTenTimesAsync(browser, lifetime);
        Assert.Equal(1, _host.Idp.RefreshRequests);

        var shortened = _host.Gateway.Logs.Lines.Where(l => l.EventId.Id == WindowShortenedEventId).ToList();
        var line = Assert.Single(shortened);
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Contains(lifetimeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Long_lived_tokens_keep_the_configured_window_and_log_nothing()
    {
        _host.Idp.AccessTokenLifetime = TimeSpan.FromMinutes(5);
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);

        _host.Time.Advance(TimeSpan.FromMinutes(3.9));
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        Assert.Equal(0, _host.Idp.RefreshRequests);

        _host.Time.Advance(TimeSpan.FromSeconds(7));
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        Assert.Equal(1, _host.Idp.RefreshRequests);
        Assert.DoesNotContain(_host.Gateway.Logs.Lines, l => l.EventId.Id == WindowShortenedEventId);
    }

    /// <summary>Ten calls at 0, 0.05, … 0.45 of <paramref name="lifetime"/> from now.</summary>
    private async Task CallTenTimesAsync(BrowserClient browser, TimeSpan lifetime)
    {
        for (var i = 0; i < 10; i++)
        {
            if (i > 0)
            {
                _host.Time.Advance(lifetime * 0.05);
            }

            await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        }
    }
}
