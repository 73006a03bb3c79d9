using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// Makes every request reach the gateway from a given address, as Kestrel would report the peer (TestServer reports
/// none). Runs before the gateway's own pipeline, so forwarded-headers trust is decided on this address.
/// A request may override it with the <see cref="HeaderName"/> header, which is removed before the gateway sees it.
/// </summary>
public static class RemoteAddress
{
    public const string HeaderName = "X-Test-Remote-Address";

    public static void Use(IServiceCollection services, IPAddress address) =>
        services.AddSingleton<IStartupFilter>(new Filter(address));

    private sealed class Filter(IPAddress address) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((HttpContext context, RequestDelegate nextMiddleware) =>
            {
                var remote = address;
                if (context.Request.Headers.Remove(HeaderName, out var value))
                {
                    remote = IPAddress.Parse(value.ToString());
                }

                context.Connection.RemoteIpAddress = remote;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
