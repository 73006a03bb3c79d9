using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Bff.Configuration;
using Bff.Errors;
using Bff.Observability;
using Microsoft.Extensions.Options;

namespace Bff.Authentication;

/// <summary>
/// One client's counter: sign-in starts and callbacks apart, the client as its IPv4 address or its IPv6 /64 (a single
/// IPv6 host can usually pick any address in its /64, so counting whole addresses would not limit it).
/// </summary>
internal readonly record struct SignInClient(bool Callback, UInt128 Network)
{
    public static bool TryCreate(IPAddress? address, bool callback, out SignInClient client)
    {
        client = default;
        if (address is null)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            // Kept apart from every IPv6 /64 by the ::ffff:0:0/96 prefix.
            bytes[10] = 0xff;
            bytes[11] = 0xff;
            address.TryWriteBytes(bytes[12..], out _);
        }
        else if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            address.TryWriteBytes(bytes, out _);
            bytes[8..].Clear();
        }
        else
        {
            return false;
        }

        client = new SignInClient(callback, BinaryPrimitives.ReadUInt128BigEndian(bytes));
        return true;
    }
}

/// <summary>
/// Limits how often one client may start a sign-in (each start can be a pushed authorization request, authenticated
/// with the client secret) and deliver a callback (each one can be a token request), so that anonymous requests cannot
/// make the gateway call the provider without limit. ASP.NET Core's fixed-window limiter, partitioned per client.
/// Refusals are counted in a metric and logged as one aggregated line at most a minute, never a line per request:
/// a flood must not become a flood of logs.
/// </summary>
internal sealed class SignInRateLimiter : IDisposable
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);

    private readonly PartitionedRateLimiter<SignInClient>? _limiter;
    private readonly PathString _login = new(SignInPaths.Login);
    private readonly PathString _callback;
    private readonly TimeSpan _window;
    private readonly BffMetrics _metrics;
    private readonly ILogger<SignInRateLimiter> _logger;
    private readonly LogThrottle _refusals;

    public SignInRateLimiter(IOptions<BffOptions> options, BffMetrics metrics, TimeProvider time, ILogger<SignInRateLimiter> logger)
    {
        _metrics = metrics;
        _refusals = new LogThrottle(time, LogInterval);
        _logger = logger;
        var bff = options.Value;
        var settings = bff.RateLimits.SignIn;
        _callback = new PathString(bff.CallbackPath);
        _window = settings.Window;
        if (settings.Enabled)
        {
            // The partitioned limiter replenishes its partitions from one timer of its own and drops idle ones.
            var limiterOptions = new FixedWindowRateLimiterOptions
            {
                PermitLimit = settings.PermitLimit,
                Window = settings.Window,
                QueueLimit = 0,
                AutoReplenishment = false,
            };
            _limiter = PartitionedRateLimiter.Create<SignInClient, SignInClient>(
                client => RateLimitPartition.GetFixedWindowLimiter(client, _ => limiterOptions));
        }
    }

    /// <summary>The path this request is counted under, when it is a sign-in start or callback of a known client.</summary>
    public bool TryGetClient(HttpContext context, out SignInClient client, out PathString endpoint)
    {
        client = default;
        endpoint = default;
        if (_limiter is null)
        {
            return false;
        }

        var path = context.Request.Path;
        if (Matches(path, _login))
        {
            endpoint = _login;
        }
        else if (Matches(path, _callback))
        {
            endpoint = _callback;
        }
        else
        {
            return false;
        }

        // Without a peer address (a Unix socket, an in-process host) there is no client to tell apart; one shared
        // counter would let a single client lock everyone out of signing in.
        return SignInClient.TryCreate(context.Connection.RemoteIpAddress, endpoint == _callback, out client);
    }

    public bool TryAcquire(SignInClient client, out TimeSpan retryAfter)
    {
        using var lease = _limiter!.AttemptAcquire(client);
        if (lease.IsAcquired)
        {
            retryAfter = TimeSpan.Zero;
            return true;
        }

        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) && wait > TimeSpan.Zero ? wait : _window;
        if (retryAfter < TimeSpan.FromSeconds(1))
        {
            retryAfter = TimeSpan.FromSeconds(1);
        }

        return false;
    }

    public Task RefuseAsync(HttpContext context, PathString endpoint, TimeSpan retryAfter)
    {
        context.SetBffFailure(BffError.TooManyRequests);
        _metrics.SignInRateLimited(endpoint.Value!);
        CountForLog();
        return BffProblem.WriteAsync(context, BffError.TooManyRequests, retryAfter: retryAfter);
    }

    public void Dispose() => _limiter?.Dispose();

    /// <summary>
    /// Routing and the OpenID Connect handler compare paths case-insensitively; routing ignores a trailing slash.
    /// Written to decide on the length first: every API call passes through here.
    /// </summary>
    private static bool Matches(PathString path, PathString target)
    {
        var value = path.Value;
        var expected = target.Value!;
        if (value is null)
        {
            return false;
        }

        return value.Length == expected.Length
            ? string.Equals(value, expected, StringComparison.OrdinalIgnoreCase)
            : value.Length == expected.Length + 1 && value[^1] == '/' && value.StartsWith(expected, StringComparison.OrdinalIgnoreCase);
    }

    private void CountForLog()
    {
        if (_refusals.Count(out var count))
        {
            BffLog.SignInRateLimited(_logger, count);
        }
    }
}

/// <summary>Runs before authentication, so that the sign-in callback (which the OpenID Connect handler answers) is counted too.</summary>
internal sealed class SignInRateLimitMiddleware(RequestDelegate next, SignInRateLimiter limiter)
{
    public Task InvokeAsync(HttpContext context)
    {
        // Not async itself: every other request passes through at the cost of two path comparisons.
        if (!limiter.TryGetClient(context, out var client, out var endpoint) || limiter.TryAcquire(client, out var retryAfter))
        {
            return next(context);
        }

        return limiter.RefuseAsync(context, endpoint, retryAfter);
    }
}
