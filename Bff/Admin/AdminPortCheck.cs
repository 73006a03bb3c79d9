using Bff.Configuration;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Bff.Admin;

/// <summary>
/// Once the server listens, says so (error 7006) when the admin API is on but nothing listens on its port: the gateway
/// does not add the listener itself, because a listener added in code makes Kestrel ignore the host's own
/// (<c>ASPNETCORE_HTTP_PORTS</c>, <c>urls</c>).
/// </summary>
internal sealed class AdminPortCheck(
    IHostApplicationLifetime lifetime,
    IServer server,
    IOptions<BffOptions> options,
    ILogger<AdminApi> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Check);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Check()
    {
        var admin = options.Value.Admin;
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (!admin.Enabled || addresses is null || addresses.Count == 0)
        {
            return;
        }

        if (!addresses.Any(a => Uri.TryCreate(a.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) && uri.Port == admin.Port))
        {
            AdminLog.PortNotListened(logger, admin.Port!.Value, string.Join(", ", addresses));
        }
    }
}
