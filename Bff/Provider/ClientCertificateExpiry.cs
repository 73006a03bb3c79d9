using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Security.Cryptography.X509Certificates;
using Bff.Observability;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Bff.Provider;

/// <summary>
/// How long the client certificates in use have left: the TLS client certificate of the mutual-TLS methods and the
/// certificate a signing key came with (Entra ID finds the credential by it). A certificate that expires while the
/// gateway runs is refused by the provider, and then nobody can sign in or refresh; this says so in time, as a
/// gauge (<c>bff.client_auth.certificate.time_left</c>), a degraded readiness check (still ready: taking replicas
/// out would not help) and a warning once a day (event 2123) from <see cref="WarningWindow"/> before.
/// </summary>
internal sealed class ClientCertificateExpiry(ClientCredentials credentials, TimeProvider timeProvider)
{
    public static readonly TimeSpan WarningWindow = TimeSpan.FromDays(14);

    /// <summary>Each certificate in use, named as the gauge and the logs name it (never its content).</summary>
    public IEnumerable<(string Name, X509Certificate2 Certificate)> InUse()
    {
        var current = credentials.Current;
        if (current.Certificate is { } tls)
        {
            yield return ("tls", tls);
        }

        foreach (var key in current.Keys)
        {
            if (key.Certificate is { } certificate)
            {
                yield return ("key:" + key.KeyId, certificate);
            }
        }
    }

    public TimeSpan TimeLeft(X509Certificate2 certificate) => new DateTimeOffset(certificate.NotAfter.ToUniversalTime()) - timeProvider.GetUtcNow();
}

/// <summary>Degraded while a client certificate in use expires within <see cref="ClientCertificateExpiry.WarningWindow"/> (or has expired).</summary>
internal sealed class ClientCertificateHealthCheck(ClientCertificateExpiry expiry) : IHealthCheck
{
    public const string Name = "client_certificate";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var expiring = expiry.InUse()
            .Where(c => expiry.TimeLeft(c.Certificate) < ClientCertificateExpiry.WarningWindow)
            .Select(c => $"{c.Name} expires at {c.Certificate.NotAfter.ToUniversalTime():O}")
            .ToList();
        return Task.FromResult(expiring.Count == 0
            ? HealthCheckResult.Healthy("No client certificate in use expires within 14 days.")
            : HealthCheckResult.Degraded($"Renew the client certificate: {string.Join("; ", expiring)}."));
    }
}

/// <summary>Publishes the gauge at start and checks once an hour whether a certificate is in its warning window.</summary>
internal sealed class ClientCertificateMonitor(ClientCertificateExpiry expiry, BffMetrics metrics, TimeProvider timeProvider, ILogger<ClientCertificateMonitor> logger)
    : IHostedService, IDisposable
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromHours(1);
    private static readonly TimeSpan WarnEvery = TimeSpan.FromDays(1);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _warned = new(StringComparer.Ordinal);
    private ITimer? _timer;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        metrics.ObserveClientCertificates(() => expiry.InUse()
            .Select(c => new Measurement<double>(expiry.TimeLeft(c.Certificate).TotalSeconds, new KeyValuePair<string, object?>("certificate", c.Name))));
        _timer = timeProvider.CreateTimer(_ => Check(), null, TimeSpan.Zero, CheckEvery);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>Warns about each certificate in its window, once a day per certificate. Never throws: it runs on a timer.</summary>
    internal void Check()
    {
        try
        {
            var now = timeProvider.GetUtcNow();
            foreach (var (name, certificate) in expiry.InUse())
            {
                var left = expiry.TimeLeft(certificate);
                if (left >= ClientCertificateExpiry.WarningWindow
                    || (_warned.TryGetValue(certificate.Thumbprint, out var last) && now - last < WarnEvery))
                {
                    continue;
                }

                _warned[certificate.Thumbprint] = now;
                BffLog.ClientCertificateExpiring(logger, name, certificate.Thumbprint, new DateTimeOffset(certificate.NotAfter.ToUniversalTime()), (int)Math.Floor(left.TotalDays));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The files could not be read: ClientCredentials reports that itself (event 2122).
        }
    }
}
