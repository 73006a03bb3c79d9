using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Bff.Tests.Hosting;

public sealed class ShutdownTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();

    public void Dispose() => _idp.Dispose();

    [Fact]
    public void Draining_gets_15_seconds_so_telemetry_is_flushed_within_kubernetes_grace_period()
    {
        using var gateway = new GatewayFactory(_idp);

        Assert.Equal(TimeSpan.FromSeconds(15), gateway.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
    }

    [Fact]
    public void An_operator_can_set_another_shutdown_timeout()
    {
        using var gateway = new GatewayFactory(_idp, new Dictionary<string, string?> { ["shutdownTimeoutSeconds"] = "40" });

        Assert.Equal(TimeSpan.FromSeconds(40), gateway.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
    }
}
