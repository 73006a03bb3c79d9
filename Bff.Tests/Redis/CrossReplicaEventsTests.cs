using System.Net;
using System.Text.Json;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Redis;

/// <summary>
/// Two replicas sharing a real Redis: a tab whose event stream is connected to one replica learns at once that its
/// session ended on the other, and why.
/// </summary>
public sealed class CrossReplicaEventsTests : IAsyncLifetime
{
    private readonly ReplicaSet _set = new();

    public Task InitializeAsync() => _set.InitializeAsync();

    public Task DisposeAsync() => _set.DisposeAsync();

    [Fact]
    public async Task Logging_out_on_replica_a_ends_the_stream_on_replica_b_and_its_next_call_gets_401()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_set.Idp);
        // Replica B has read (and may cache) the session.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        using var stream = await OpenAsync(b, browser);
        var cookie = browser.CookieValue("__Host-bff")!;

        var user = await browser.GetWithCsrfAsync(a.Url("/bff/user?slide=false"));
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        var logout = await browser.GetAsync(a.Url(json.RootElement.GetProperty("logoutUrl").GetString()!));
        Assert.True(logout.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.Found);

        var ended = await stream.NextEventAsync();
        Assert.Equal("ended", ended!.Name);
        Assert.Equal("logout", ended.Json.GetProperty("reason").GetString());
        Assert.Null(await stream.NextAsync());

        // The cookie as a tab that has not seen the logout's answer still sends it, to replica B.
        using var tab = b.CreateBrowser();
        tab.PutCookie("__Host-bff", cookie);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tab.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task Back_channel_logout_received_by_replica_a_ends_the_stream_on_replica_b()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_set.Idp, shape: s => s.ProviderSessionId = "sid-9");
        using var stream = await OpenAsync(b, browser);

        using var provider = new HttpClient { BaseAddress = a.BaseAddress };
        var posted = await provider.PostAsync("/bff/backchannel", new FormUrlEncodedContent([new("logout_token", _set.Idp.CreateLogoutToken("alice", "sid-9"))]));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        var ended = await stream.NextEventAsync();
        Assert.Equal("ended", ended!.Name);
        Assert.Equal("backchannel", ended.Json.GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task A_notice_for_one_session_leaves_the_other_sessions_streams_open()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var first = a.CreateBrowser();
        using var second = a.CreateBrowser();
        await first.SignInAsync(_set.Idp);
        await second.SignInAsync(_set.Idp);
        using var kept = await OpenAsync(b, second);
        using var ending = await OpenAsync(b, first);

        var user = await first.GetWithCsrfAsync(a.Url("/bff/user?slide=false"));
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        await first.GetAsync(a.Url(json.RootElement.GetProperty("logoutUrl").GetString()!));

        Assert.Equal("ended", (await ending.NextEventAsync())!.Name);
        Assert.Equal(HttpStatusCode.OK, (await second.GetWithCsrfAsync(b.Url("/bff/user?slide=false"))).StatusCode);
    }

    [Fact]
    public async Task A_session_ended_from_the_users_list_on_replica_a_reaches_its_stream_on_replica_b_as_revoked()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var laptop = a.CreateBrowser();
        using var phone = a.CreateBrowser();
        await laptop.SignInAsync(_set.Idp);
        await phone.SignInAsync(_set.Idp);
        using var phoneStream = await OpenAsync(b, phone);

        // "Sign out my other devices", from the laptop, on replica A.
        using var request = new HttpRequestMessage(HttpMethod.Delete, a.Url("/bff/sessions"));
        request.Headers.Add("X-CSRF", "1");
        var ended = await laptop.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);

        var notice = await phoneStream.NextEventAsync();
        Assert.Equal("ended", notice!.Name);
        Assert.Equal("revoked", notice.Json.GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await laptop.GetWithCsrfAsync(b.Url("/bff/user?slide=false"))).StatusCode);
    }

    private static async Task<EventStreamClient> OpenAsync(GatewayReplica replica, BrowserClient browser)
    {
        var (response, stream) = await EventStreamClient.OpenAsync(
            new SocketsHttpHandler { UseCookies = false }, replica.BaseAddress, browser.CookieValue("__Host-bff"),
            new Dictionary<string, string> { ["Sec-Fetch-Site"] = "same-origin" });
        Assert.True(stream is not null, $"/bff/events answered {(int)response.StatusCode}");
        // Once "ready" is read, the stream listens: no notice sent after this can be missed.
        Assert.Equal("ready", (await stream.NextEventAsync())!.Name);
        return stream;
    }
}
