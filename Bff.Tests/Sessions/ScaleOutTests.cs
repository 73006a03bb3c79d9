using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Sessions;

/// <summary>Several replicas sharing one Redis behave as one gateway.</summary>
public sealed class ScaleOutTests : IAsyncLifetime
{
    private readonly TestIdentityProvider _idp = new();
    private readonly RedisFixture _redis = new();
    private readonly List<GatewayReplica> _replicas = [];

    public Task InitializeAsync() => _redis.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            replica.Dispose();
        }

        await _redis.DisposeAsync();
        _idp.Dispose();
    }

    private GatewayReplica StartReplica(IDictionary<string, string?>? settings = null)
    {
        var replica = GatewayReplica.Start(_idp, _redis, settings);
        _replicas.Add(replica);
        return replica;
    }

    [Fact]
    public async Task Session_created_on_one_replica_is_served_by_another()
    {
        var a = StartReplica();
        var b = StartReplica();
        using var browser = a.CreateBrowser();

        var callback = await browser.SignInAsync(_idp, "/orders");
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);

        var user = await browser.GetWithCsrfAsync(b.Url("/bff/user"));

        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        Assert.Contains(json.RootElement.GetProperty("claims").EnumerateArray(),
            c => c.GetProperty("type").GetString() == "sub" && c.GetProperty("value").GetString() == "alice");
    }
}
