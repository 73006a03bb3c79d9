using Bff.Demo.Identity.Configuration;
using Microsoft.Extensions.Options;

namespace Bff.Demo.Identity.Provider;

/// <summary>The issuer OpenIddict puts in tokens: the configured one, else the origin the request reached.</summary>
internal sealed class IssuerResolver(IOptions<DemoIdentityOptions> options)
{
    public Uri Resolve(HttpContext http) =>
        options.Value.Issuer ?? new Uri($"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/", UriKind.Absolute);
}
