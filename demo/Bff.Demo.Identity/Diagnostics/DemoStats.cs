namespace Bff.Demo.Identity.Diagnostics;

/// <summary>What the provider has seen, so a person or a browser test can check the gateway's behaviour from outside.</summary>
internal sealed class DemoStats
{
    private long authorizationCodeGrants;
    private long refreshTokenGrants;
    private long refreshTokenRejections;
    private long revocations;
    private long endSessions;
    private long providerLogouts;
    private long backchannelLogoutsDelivered;
    private long backchannelLogoutsFailed;
    private long dpopBoundTokens;
    private long dpopProofsRefused;
    private long dpopUserInfoReads;

    public void AuthorizationCodeGrant() => Interlocked.Increment(ref authorizationCodeGrants);

    public void RefreshTokenGrant() => Interlocked.Increment(ref refreshTokenGrants);

    public void RefreshTokenRejected() => Interlocked.Increment(ref refreshTokenRejections);

    public void Revocation() => Interlocked.Increment(ref revocations);

    public void EndSession() => Interlocked.Increment(ref endSessions);

    public void ProviderLogout() => Interlocked.Increment(ref providerLogouts);

    public void BackchannelLogout(bool delivered) =>
        Interlocked.Increment(ref delivered ? ref backchannelLogoutsDelivered : ref backchannelLogoutsFailed);

    public void DPoPBoundToken() => Interlocked.Increment(ref dpopBoundTokens);

    public void DPoPProofRefused() => Interlocked.Increment(ref dpopProofsRefused);

    public void DPoPUserInfoRead() => Interlocked.Increment(ref dpopUserInfoReads);

    public DemoStatsSnapshot Snapshot() => new(
        Interlocked.Read(ref authorizationCodeGrants),
        Interlocked.Read(ref refreshTokenGrants),
        Interlocked.Read(ref refreshTokenRejections),
        Interlocked.Read(ref revocations),
        Interlocked.Read(ref endSessions),
        Interlocked.Read(ref providerLogouts),
        Interlocked.Read(ref backchannelLogoutsDelivered),
        Interlocked.Read(ref backchannelLogoutsFailed),
        Interlocked.Read(ref dpopBoundTokens),
        Interlocked.Read(ref dpopProofsRefused),
        Interlocked.Read(ref dpopUserInfoReads));
}

internal sealed record DemoStatsSnapshot(
    long AuthorizationCodeGrants,
    long RefreshTokenGrants,
    long RefreshTokenRejections,
    long Revocations,
    long EndSessions,
    long ProviderLogouts,
    long BackchannelLogoutsDelivered,
    long BackchannelLogoutsFailed,
    long DPoPBoundTokens,
    long DPoPProofsRefused,
    long DPoPUserInfoReads);

internal static class DemoStatsEndpoints
{
    /// <summary><c>GET /demo/stats</c>, answered only to loopback callers.</summary>
    public static IEndpointRouteBuilder MapDemoStats(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/demo/stats", GetStats).ExcludeFromDescription();
        return endpoints;
    }

    private static IResult GetStats(HttpContext http, DemoStats stats)
    {
        var remote = http.Connection.RemoteIpAddress;
        if (remote is null || !System.Net.IPAddress.IsLoopback(remote))
        {
            return TypedResults.NotFound();
        }

        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(stats.Snapshot());
    }
}
