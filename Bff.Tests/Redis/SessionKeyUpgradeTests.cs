using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using Bff.Redis;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Bff.Tests.Redis;

/// <summary>
/// Session cookies issued before keys carried a slot tag (43 characters, no dot) keep working after the upgrade: read,
/// refreshed, and ended by back-channel logout, which still reads the untagged subject index they were listed in.
/// </summary>
public sealed class SessionKeyUpgradeTests : IAsyncLifetime
{
    private readonly ReplicaSet _set = new();
    private UpstreamApi _api = null!;

    public async Task InitializeAsync()
    {
        await _set.InitializeAsync();
        _api = await UpstreamApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _set.DisposeAsync();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task A_session_from_before_slot_tags_is_served_refreshed_and_ended_by_back_channel_logout()
    {
        var a = _set.Start(ProxyTestHost.RouteSettings(_api.Address));
        var b = _set.Start(ProxyTestHost.RouteSettings(_api.Address));
        Assert.Contains(a.Logs.Lines, l => l.EventId.Id == 5100 && l.Message.StartsWith("Redis shape: Standalone, 1 primary(ies)", StringComparison.Ordinal));
        _set.Idp.AccessTokenLifetime = TimeSpan.FromHours(1);
        using var current = a.CreateBrowser();
        await current.SignInAsync(_set.Idp, subject: "upgraded-user");
        var store = a.Services.GetRequiredService<ISessionStore>();
        var signedIn = (await store.FindAsync(current.CookieValue("__Host-bff")!, CancellationToken.None)).Session!;

        // What the previous release wrote: an untagged key, listed in the untagged subject index; its access token expired.
        var oldKey = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var expired = DateTimeOffset.FromUnixTimeMilliseconds((DateTimeOffset.UtcNow - TimeSpan.FromSeconds(1)).ToUnixTimeMilliseconds());
        var old = signedIn with { Key = oldKey, Tokens = signedIn.Tokens with { AccessTokenExpiresAt = expired } };
        Assert.Equal(StoreOutcome.Ok, await store.CreateAsync(old, CancellationToken.None));
        var keys = a.Services.GetRequiredService<RedisConnection>().Keys;
        var oldId = SessionKey.Id(oldKey);
        Assert.DoesNotContain('{', oldId);
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(_set.Redis.Configuration))
        {
            var database = redis.GetDatabase();
            await database.SortedSetRemoveAsync(keys.SubjectSessions("upgraded-user"), oldId);
            await database.SetAddAsync(keys.LegacySubjectIndex("upgraded-user"), oldId);
        }

        using var upgraded = b.CreateBrowser();
        upgraded.PutCookie("__Host-bff", oldKey);
        Assert.Equal(HttpStatusCode.OK, (await upgraded.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        var echo = await ProxyTestHost.EchoAsync(await upgraded.GetWithCsrfAsync(b.Url("/api/orders")));
        Assert.Equal(1, _set.Idp.RefreshRequests);
        var refreshed = (await store.FindAsync(oldKey, CancellationToken.None)).Session!;
        Assert.Equal("Bearer " + refreshed.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(old.Tokens.Version + 1, refreshed.Tokens.Version);

        using var provider = new HttpClient { BaseAddress = a.BaseAddress };
        var logout = await provider.PostAsync("/bff/backchannel",
            new FormUrlEncodedContent([new("logout_token", _set.Idp.CreateLogoutToken("upgraded-user", null))]));
        Assert.Equal(HttpStatusCode.OK, logout.StatusCode);

        // A standalone Redis that stayed up changed no topology.
        Assert.DoesNotContain(a.Logs.Lines, l => l.EventId.Id == 5101);
        foreach (var replica in new[] { a, b })
        {
            foreach (var browser in new[] { upgraded, current })
            {
                Assert.True(await ReplicaSet.EventuallyAsync(
                    async () => (await browser.GetWithCsrfAsync(replica.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized,
                    TimeSpan.FromSeconds(20)));
            }
        }
    }
}
