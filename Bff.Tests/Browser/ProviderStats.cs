namespace Bff.Tests.Browser;

/// <summary>What the demo provider reports at <c>GET /demo/stats</c>: the gateway's behaviour seen from the provider's side.</summary>
public sealed record ProviderStats(
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
    long DPoPUserInfoReads)
{
    public ProviderStats Since(ProviderStats earlier) => new(
        AuthorizationCodeGrants - earlier.AuthorizationCodeGrants,
        RefreshTokenGrants - earlier.RefreshTokenGrants,
        RefreshTokenRejections - earlier.RefreshTokenRejections,
        Revocations - earlier.Revocations,
        EndSessions - earlier.EndSessions,
        ProviderLogouts - earlier.ProviderLogouts,
        BackchannelLogoutsDelivered - earlier.BackchannelLogoutsDelivered,
        BackchannelLogoutsFailed - earlier.BackchannelLogoutsFailed,
        DPoPBoundTokens - earlier.DPoPBoundTokens,
        DPoPProofsRefused - earlier.DPoPProofsRefused,
        DPoPUserInfoReads - earlier.DPoPUserInfoReads);
}
