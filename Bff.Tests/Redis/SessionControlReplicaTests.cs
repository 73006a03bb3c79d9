using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Redis;

/// <summary>A session ended from one replica is over on every replica, including one that had it cached.</summary>
public sealed class SessionControlReplicaTests : IAsyncLifetime
{
    private readonly ReplicaSet _set = new();

    public Task InitializeAsync() => _set.InitializeAsync();

    public Task DisposeAsync() => _set.DisposeAsync();

    [Fact]
    public async Task A_session_ended_from_replica_A_gets_401_at_its_next_call_on_replica_B()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var laptop = a.CreateBrowser();
        using var phone = a.CreateBrowser();
        using var tablet = a.CreateBrowser();
        await laptop.SignInAsync(_set.Idp);
        await phone.SignInAsync(_set.Idp);
        await tablet.SignInAsync(_set.Idp);
        // Both are served (and cached) by replica B before they are ended.
        Assert.Equal(HttpStatusCode.OK, (await phone.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tablet.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);

        var list = JsonDocument.Parse(await (await laptop.GetWithCsrfAsync(a.Url("/bff/sessions"))).Content.ReadAsStringAsync());
        var handles = list.RootElement.GetProperty("sessions").EnumerateArray().Select(s => s.GetProperty("handle").GetString()!).ToArray();
        Assert.Equal(3, handles.Length);
        var one = await laptop.SendAsync(new HttpRequestMessage(HttpMethod.Delete, a.Url("/bff/sessions/" + handles[1])), Csrf);
        Assert.Equal(HttpStatusCode.NoContent, one.StatusCode);

        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await phone.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(1)));
        Assert.Equal(HttpStatusCode.OK, (await tablet.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);

        var others = await laptop.SendAsync(new HttpRequestMessage(HttpMethod.Delete, a.Url("/bff/sessions")), Csrf);
        Assert.Equal(HttpStatusCode.OK, others.StatusCode);
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await tablet.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(1)));
        Assert.Equal(HttpStatusCode.OK, (await laptop.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.Equal(2, _set.Idp.RequestsTo("/revoke").Count());
    }

    private static Dictionary<string, string> Csrf => new() { ["X-CSRF"] = "1" };
}
