using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Sessions;

/// <summary><c>/bff/user?slide=false</c>: a page can check its session without keeping itself signed in.</summary>
public sealed class NonSlidingLookupTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly GatewayFactory _gateway;

    public NonSlidingLookupTests() => _gateway = new GatewayFactory(
        _idp,
        new Dictionary<string, string?>
        {
            ["Bff:Session:IdleTimeout"] = "00:20:00",
            ["Bff:Session:AbsoluteTimeout"] = "08:00:00",
        },
        time: _time);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public async Task Checking_with_slide_false_does_not_keep_a_session_alive_past_its_idle_timeout()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        // Checked every 9 minutes, as a page polling its state would: the 20-minute idle limit never moves.
        _time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user?slide=false")).StatusCode);
        _time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user?slide=false")).StatusCode);
        _time.Advance(TimeSpan.FromMinutes(9));

        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user?slide=false")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task An_ordinary_check_keeps_the_session_alive()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        for (var i = 0; i < 3; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(9));
            Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        }
    }

    [Fact]
    public async Task Slide_false_answers_the_same_user_and_the_end_the_session_already_had()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);
        var before = await ExpiryAsync(await browser.GetWithCsrfAsync("/bff/user?slide=false"));

        _time.Advance(TimeSpan.FromMinutes(5));
        var looked = await browser.GetWithCsrfAsync("/bff/user?slide=false");
        var after = await ExpiryAsync(looked);

        Assert.Equal(before, after);
        Assert.Contains("\"sub\"", await looked.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // An ordinary call moves it.
        var slid = await ExpiryAsync(await browser.GetWithCsrfAsync("/bff/user"));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(20), slid);
    }

    [Theory]
    [InlineData("/bff/user?slide=no")]
    [InlineData("/bff/user?slide=0")]
    [InlineData("/bff/user?slide=false&slide=false")]
    public async Task A_slide_value_other_than_true_or_false_is_refused_rather_than_guessed(string url)
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);
        var idleEnd = await ExpiryAsync(await browser.GetWithCsrfAsync("/bff/user?slide=false"));
        _time.Advance(TimeSpan.FromMinutes(5));

        var response = await browser.GetWithCsrfAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid_parameter", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(idleEnd, await ExpiryAsync(await browser.GetWithCsrfAsync("/bff/user?slide=false")));
    }

    [Fact]
    public async Task Slide_false_still_needs_the_csrf_header()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        var response = await browser.GetAsync("/bff/user?slide=false");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("csrf_header_missing", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<DateTimeOffset> ExpiryAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("sessionExpiresAt").GetDateTimeOffset();
    }
}
