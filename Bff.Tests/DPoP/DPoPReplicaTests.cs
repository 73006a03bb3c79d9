using System.Net;
using Bff.DPoP;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.DPoP;

/// <summary>Replicas sharing Redis share one generated DPoP key: a session's bound token works from any of them.</summary>
public sealed class DPoPReplicaTests : IAsyncLifetime
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

    private GatewayReplica StartReplica()
    {
        var settings = ProxyTestHost.RouteSettings(_api.Address);
        settings["Bff:DPoP:Enabled"] = "true";
        return _set.Start(settings);
    }

    [Fact]
    public async Task A_token_bound_on_one_replica_is_proved_with_the_same_key_by_another()
    {
        var a = StartReplica();
        var b = StartReplica();
        using var browser = a.CreateBrowser();
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(_set.Idp)).StatusCode);

        var fromA = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync(a.Url("/api/a")));
        var fromB = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync(b.Url("/api/b")));

        var accessToken = fromA.Header("Authorization")!["DPoP ".Length..];
        Assert.Equal("DPoP " + accessToken, fromB.Header("Authorization"));
        var bound = _set.Idp.BoundKeyOf(accessToken);
        Assert.NotNull(bound);
        Assert.Equal(bound, DPoPProofReader.Read(fromA.Header("DPoP"))!.Thumbprint);
        Assert.Equal(bound, DPoPProofReader.Read(fromB.Header("DPoP"))!.Thumbprint);
        Assert.Equal(a.Services.GetRequiredService<DPoPKeys>().CurrentOrNull!.Thumbprint, b.Services.GetRequiredService<DPoPKeys>().CurrentOrNull!.Thumbprint);
    }

    [Fact]
    public async Task Replicas_starting_together_agree_on_one_generated_key()
    {
        var replicas = Enumerable.Range(0, 3).Select(_ => StartReplica()).ToList();

        var keys = await Task.WhenAll(replicas.Select(r => r.Services.GetRequiredService<DPoPKeys>().GetCurrentAsync(CancellationToken.None).AsTask()));

        Assert.Single(keys.Select(k => k.Thumbprint).Distinct());
    }
}
