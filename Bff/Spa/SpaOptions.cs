using Microsoft.Extensions.Options;

namespace Bff.Spa;

/// <summary>Section <c>Bff:Spa</c>: where the built single-page application lives, if the gateway serves one.</summary>
internal sealed class SpaOptions
{
    public const string SectionName = "Bff:Spa";

    /// <summary>The key under <c>Bff</c>: the strict check of that section reads <c>Bff:Spa</c> as these settings.</summary>
    public const string SubsectionName = "Spa";

    /// <summary>
    /// Folder with the built SPA (its <c>index.html</c> and <c>assets/</c>), absolute or relative to the content root.
    /// Default: <c>wwwroot</c> under the content root, when that folder exists; otherwise no SPA is served.
    /// </summary>
    public string? RootPath { get; set; }

    /// <summary>The absolute folder actually served, or null for none. Derived by <see cref="SpaOptionsSetup"/>.</summary>
    internal string? ResolvedRoot { get; set; }
}

/// <summary>Derives <see cref="SpaOptions.ResolvedRoot"/> from the setting and the content root.</summary>
internal sealed class SpaOptionsSetup(IHostEnvironment environment) : IPostConfigureOptions<SpaOptions>
{
    public void PostConfigure(string? name, SpaOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.RootPath))
        {
            options.ResolvedRoot = Path.GetFullPath(options.RootPath, environment.ContentRootPath);
            return;
        }

        var wwwroot = Path.Combine(environment.ContentRootPath, "wwwroot");
        options.ResolvedRoot = Directory.Exists(wwwroot) ? wwwroot : null;
    }
}

internal sealed class SpaOptionsValidator : IValidateOptions<SpaOptions>
{
    public ValidateOptionsResult Validate(string? name, SpaOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.RootPath) || options.ResolvedRoot is null)
        {
            return ValidateOptionsResult.Success;
        }

        if (!Directory.Exists(options.ResolvedRoot))
        {
            return ValidateOptionsResult.Fail(
                $"Bff:Spa:RootPath points to '{options.ResolvedRoot}', which does not exist. Build the SPA there or remove the setting.");
        }

        return File.Exists(Path.Combine(options.ResolvedRoot, SpaFiles.IndexFile))
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"Bff:Spa:RootPath '{options.ResolvedRoot}' has no {SpaFiles.IndexFile}. Point it at the SPA's build output (e.g. spa-sample/dist).");
    }
}
