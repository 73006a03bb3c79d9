using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Bff.Spa;

/// <summary>The SPA's build output and the caching and security headers each kind of file gets.</summary>
internal sealed class SpaFiles : IDisposable
{
    public const string IndexFile = "index.html";
    public const string ImmutableCacheControl = "public, max-age=31536000, immutable";
    public static readonly PathString AssetsPath = "/assets";

    /// <summary>The page's own policy: scripts, styles and fetches only from this origin; never framed.</summary>
    public const string IndexContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    private readonly PhysicalFileProvider? provider;

    public SpaFiles(IOptions<SpaOptions> options)
    {
        var root = options.Value.ResolvedRoot;
        provider = root is not null && Directory.Exists(root) ? new PhysicalFileProvider(root) : null;
    }

    /// <summary>Null when the gateway serves no SPA.</summary>
    public IFileProvider? Provider => provider;

    public IFileInfo? Index => provider?.GetFileInfo(IndexFile) is { Exists: true } index ? index : null;

    /// <summary>
    /// Vite puts content-hashed bundles under <c>/assets/</c>: a changed file gets a new name, so they can be cached
    /// for a year. <c>index.html</c> names the current bundles and must never be cached. Anything else revalidates.
    /// </summary>
    public static void ApplyHeaders(PathString path, HttpResponse response)
    {
        var headers = response.Headers;
        headers.XContentTypeOptions = "nosniff";
        if (path.StartsWithSegments(AssetsPath, StringComparison.OrdinalIgnoreCase))
        {
            headers.CacheControl = ImmutableCacheControl;
        }
        else if (path.Equals("/" + IndexFile, StringComparison.OrdinalIgnoreCase))
        {
            headers.CacheControl = "no-store";
            headers.ContentSecurityPolicy = IndexContentSecurityPolicy;
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "same-origin";
        }
        else
        {
            headers.CacheControl = "no-cache";
        }
    }

    public void Dispose() => provider?.Dispose();
}
