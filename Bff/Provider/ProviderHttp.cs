namespace Bff.Provider;

/// <summary>The named HttpClient for calls to the provider's token and revocation endpoints.</summary>
internal static class ProviderHttp
{
    public const string ClientName = "Bff.Provider";

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
}
