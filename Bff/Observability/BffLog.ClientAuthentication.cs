namespace Bff.Observability;

/// <summary>Client authentication to the provider (21xx). No message takes a key, a secret or an assertion.</summary>
internal static partial class BffLog
{
    [LoggerMessage(2101, LogLevel.Error, "The provider's metadata cannot be used with Bff:ClientAuthentication: {Problem}. Sign-in and token calls fail and readiness reports not ready until this is fixed.")]
    public static partial void ClientAssertionAlgorithmUnsupported(ILogger logger, string problem);

    [LoggerMessage(2102, LogLevel.Information, "The gateway authenticates to the provider with private_key_jwt: client assertions signed with {Algorithm} by key {KeyId}, for audience {Audience}.")]
    public static partial void ClientAssertionAlgorithmChosen(ILogger logger, string algorithm, string keyId, string audience);

    // 2120-2149: the key and certificate files read again while the gateway runs (Bff:ClientAuthentication:*:Path).

    [LoggerMessage(2120, LogLevel.Information, "Bff:ClientAuthentication: changed key or certificate files taken into use. Client assertions are signed by key {SigningKeyId}; published keys: {KeyIds}; new TLS connections present certificate {CertificateThumbprint} (valid until {CertificateNotAfter}).")]
    public static partial void ClientCredentialsTakenIntoUse(ILogger logger, string signingKeyId, string keyIds, string certificateThumbprint, string certificateNotAfter);

    [LoggerMessage(2121, LogLevel.Error, "Bff:ClientAuthentication: the key or certificate files changed but cannot be used, so the keys and certificate in use stay in use; the files are read again every {Interval}. {Problems}")]
    public static partial void ClientCredentialsRefused(ILogger logger, string problems, TimeSpan interval);

    [LoggerMessage(2122, LogLevel.Error, "Bff:ClientAuthentication: reading the key and certificate files again failed ({ExceptionType}); the keys and certificate in use stay in use, and the files are read again every {Interval}.")]
    public static partial void ClientCredentialsCheckFailed(ILogger logger, string exceptionType, TimeSpan interval);

    [LoggerMessage(2123, LogLevel.Warning, "Bff:ClientAuthentication: the client certificate {Certificate} (thumbprint {Thumbprint}) expires at {NotAfter:O}, in {DaysLeft} days; renew it in its Secret or file, which the gateway takes into use within a minute, before the provider refuses it. Said once a day.")]
    public static partial void ClientCertificateExpiring(ILogger logger, string certificate, string thumbprint, DateTimeOffset notAfter, int daysLeft);
}
