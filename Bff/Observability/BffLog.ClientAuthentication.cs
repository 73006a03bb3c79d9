namespace Bff.Observability;

/// <summary>Client authentication to the provider (21xx). No message takes a key, a secret or an assertion.</summary>
internal static partial class BffLog
{
    [LoggerMessage(2101, LogLevel.Error, "The provider's metadata cannot be used with Bff:ClientAuthentication: {Problem}. Sign-in and token calls fail and readiness reports not ready until this is fixed.")]
    public static partial void ClientAssertionAlgorithmUnsupported(ILogger logger, string problem);

    [LoggerMessage(2102, LogLevel.Information, "The gateway authenticates to the provider with private_key_jwt: client assertions signed with {Algorithm} by key {KeyId}, for audience {Audience}.")]
    public static partial void ClientAssertionAlgorithmChosen(ILogger logger, string algorithm, string keyId, string audience);
}
