using System.Text;

namespace Bff.Bench;

/// <summary>
/// The API behind both proxies: as cheap as Kestrel allows, so that the proxies' cost is what the load measures.
/// <c>GET /api/*</c> answers a small JSON body that says whether a bearer token arrived (never the token);
/// a request body is drained and counted; <c>GET /api/download?mb=N</c> streams N MiB.
/// </summary>
internal static class EchoUpstream
{
    private static readonly byte[] WithToken = Encoding.UTF8.GetBytes("""{"ok":true,"bearer":true}""");
    private static readonly byte[] WithoutToken = Encoding.UTF8.GetBytes("""{"ok":true,"bearer":false}""");

    public static async Task<int> RunAsync(string[] args)
    {
        await using var app = Build(args);
        await app.RunAsync();
        return 0;
    }

    /// <summary>Started inside a storm's driver, on a loopback port of its own; returns its address.</summary>
    public static async Task<(WebApplication App, Uri Address)> StartAsync()
    {
        var app = Build([]);
        app.Urls.Add("http://127.0.0.1:0");
        await app.StartAsync();
        return (app, new Uri(app.Urls.First()));
    }

    private static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = null);
        var app = builder.Build();
        app.Run(HandleAsync);
        return app;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (request.Path.StartsWithSegments("/api/download") && int.TryParse(request.Query["mb"], out var mebibytes))
        {
            response.ContentType = "application/octet-stream";
            response.ContentLength = mebibytes * 1024L * 1024L;
            var chunk = new byte[64 * 1024];
            for (var i = 0; i < mebibytes * 16; i++)
            {
                await response.Body.WriteAsync(chunk, context.RequestAborted);
            }

            return;
        }

        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            var buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = await request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                total += read;
            }

            response.ContentType = "application/json";
            await response.WriteAsync($$"""{"received":{{total}}}""", context.RequestAborted);
            return;
        }

        var body = request.Headers.Authorization.Count > 0 ? WithToken : WithoutToken;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted);
    }
}
