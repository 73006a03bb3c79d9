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
}

internal sealed class DemoApiOptionsValidator : IValidateOptions<DemoApiOptions>
{
    public ValidateOptionsResult Validate(string? name, DemoApiOptions options) =>
        options.Authority is { IsAbsoluteUri: true } && options.Authority.IsLoopback
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Demo:Authority must be the demo provider's absolute loopback URL, e.g. http://127.0.0.1:5081/.");
}
