using Microsoft.Extensions.Options;

namespace Bff.Demo.Api;

/// <summary>Section <c>Demo</c>: which provider issues the tokens this API accepts.</summary>
internal sealed class DemoApiOptions
{
    public const string SectionName = "Demo";

    /// <summary>The demo provider, e.g. <c>http://127.0.0.1:5081/</c>.</summary>
    public Uri? Authority { get; set; }

    public string Audience { get; set; } = "demo-api";

    public string RequiredScope { get; set; } = "demo_api";

    public DemoApiDPoPOptions DPoP { get; set; } = new();
}

/// <summary>
/// Section <c>Demo:DPoP</c>. A DPoP-bound token (<c>cnf.jkt</c>) is always checked against its proof (RFC 9449 §7);
/// this only makes the API stricter.
/// </summary>
internal sealed class DemoApiDPoPOptions
{
    /// <summary>Whether proofs must carry this API's current nonce (RFC 9449 §9): the first call gets <c>use_dpop_nonce</c>.</summary>
    public bool RequireNonce { get; set; }
}

internal sealed class DemoApiOptionsValidator : IValidateOptions<DemoApiOptions>
{
    public ValidateOptionsResult Validate(string? name, DemoApiOptions options) =>
        options.Authority is { IsAbsoluteUri: true } && options.Authority.IsLoopback
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Demo:Authority must be the demo provider's absolute loopback URL, e.g. http://127.0.0.1:5081/.");
}
