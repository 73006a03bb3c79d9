using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// A real API behind the gateway: Kestrel on a loopback port, recording every request it receives and answering
/// with what it saw (method, path, raw target, headers, body length) as JSON. Also: server-sent events released by
/// the test, large downloads, a request that never answers, chosen status codes and a WebSocket echo.
/// </summary>
public sealed class UpstreamApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();

    private UpstreamApi(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    public int Port => Address.Port;

    public IReadOnlyCollection<ReceivedRequest> Received => _received.ToArray();

    /// <summary>
    /// DPoP (RFC 9449 §9): when set, a request with a DPoP proof whose nonce is not this one is answered 401 with
    /// <c>WWW-Authenticate: DPoP error="use_dpop_nonce"</c> and a <c>DPoP-Nonce</c> header.
    /// </summary>
    public string? DPoPNonce { get; set; }

    /// <summary>Completed by the test to let <c>/api/sse</c> send its second event.</summary>
    public TaskCompletionSource SecondEvent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed when <c>/api/slow</c> received a request.</summary>
    public TaskCompletionSource SlowRequestArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed by the test to make <c>/api/broken</c> drop its connection mid-body.</summary>
    public TaskCompletionSource BreakResponse { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed when the gateway cancelled its call to <c>/api/slow</c>.</summary>
    public TaskCompletionSource SlowRequestAborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<UpstreamApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = null;
        });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var api = new UpstreamApi(app);
        app.UseWebSockets();
        app.Use(async (context, next) =>
        {
            api._received.Enqueue(ReceivedRequest.From(context));
            if (api.DPoPNonce is { } nonce && context.Request.Headers["DPoP"].FirstOrDefault() is { } proof
                && DPoPProofReader.Read(proof)?.Nonce != nonce)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "DPoP error=\"use_dpop_nonce\", error_description=\"Resource server requires nonce in DPoP proof\"";
                context.Response.Headers["DPoP-Nonce"] = nonce;
                return;
            }

            await next(context);
        });
        app.MapGet("/api/sse", api.ServerSentEventsAsync);
        app.MapGet("/api/download/{bytes:long}", DownloadAsync);
        app.MapGet("/api/slow", api.SlowAsync);
        app.Map("/api/status/{code:int}", StatusAsync);
        app.Map("/api/ws", EchoWebSocketAsync);
        app.MapGet("/api/broken", async (HttpContext context) =>
        {
            // Promises 1000 bytes, sends 10, then (when the test says so) drops the connection.
            context.Response.ContentLength = 1000;
            await context.Response.Body.WriteAsync(new byte[10]);
            await context.Response.Body.FlushAsync();
            await api.BreakResponse.Task.WaitAsync(context.RequestAborted);
            context.Abort();
        });
        app.MapGet("/api/set-cookie", static (HttpContext context) =>
        {
            context.Response.Headers.Append("Set-Cookie", "__Host-bff=planted-by-api; Path=/; Secure; HttpOnly");
            context.Response.Headers.Append("Set-Cookie", "theme=dark; Path=/");
            return Results.Text("cookies set");
        });
        app.MapGet("/{prefix}/set-cookies", static (HttpContext context) =>
        {
            // A hostile or careless API: one Set-Cookie header per "c" query value, exactly as given.
            foreach (var cookie in context.Request.Query["c"])
            {
                context.Response.Headers.Append("Set-Cookie", cookie);
            }

            return Results.Text("cookies set");
        });
        app.MapGet("/{prefix}/clear-site-data", static (HttpContext context, string? value) =>
        {
            // Asks the browser to delete every cookie of the origin (and of its site): the gateway's too.
            context.Response.Headers["Clear-Site-Data"] = value ?? "\"cookies\"";
            return Results.Text("cleared");
        });
        app.MapGet("/{prefix}/cookie-flood", static (HttpContext context, int count, int size) =>
        {
            // A cookie bomb: count cookies of size characters each, enough to push the browser's Cookie header past limits.
            for (var i = 0; i < count; i++)
            {
                context.Response.Headers.Append("Set-Cookie", $"flood{i}={new string('x', size)}; Path=/; Max-Age=86400");
            }

            return Results.Text("flooded");
        });
        app.Map("/{prefix}/challenge", static (HttpContext context) =>
        {
            // An API that wants more of the user's authentication: 401 with each "h" query value as a WWW-Authenticate
            // header, exactly as given (RFC 9470 step-up challenges, well-formed or not).
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            foreach (var header in context.Request.Query["h"])
            {
                context.Response.Headers.Append("WWW-Authenticate", header);
            }

            context.Response.Headers["X-Api-Detail"] = "from-api";
            return context.Response.WriteAsync("upstream wants a step-up");
        });
        app.Map("/{**path}", EchoAsync);
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        api.Address = new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal) + "/");
        return api;
    }

    public async ValueTask DisposeAsync()
    {
        SecondEvent.TrySetResult();
        BreakResponse.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task EchoAsync(HttpContext context)
    {
        var bodyLength = await CountBodyAsync(context.Request.Body, context.RequestAborted);
        var received = ReceivedRequest.From(context) with { BodyLength = bodyLength };
        await context.Response.WriteAsJsonAsync(received);
    }

    private async Task ServerSentEventsAsync(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        await context.Response.WriteAsync("data: first\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
        await SecondEvent.Task.WaitAsync(context.RequestAborted);
        await context.Response.WriteAsync("data: second\n\n", context.RequestAborted);
    }

    private static async Task DownloadAsync(HttpContext context, long bytes)
    {
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = bytes;
        var chunk = new byte[64 * 1024];
        for (long sent = 0; sent < bytes; sent += chunk.Length)
        {
            await context.Response.Body.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, bytes - sent)), context.RequestAborted);
        }
    }

    private async Task SlowAsync(HttpContext context)
    {
        SlowRequestArrived.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            SlowRequestAborted.TrySetResult();
        }
    }

    private static async Task StatusAsync(HttpContext context, int code)
    {
        context.Response.StatusCode = code;
        if (code == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
        }

        if (context.Request.Query.ContainsKey("empty"))
        {
            // Chunked and empty: no Content-Length that would keep status-code pages away.
            await context.Response.StartAsync();
            return;
        }

        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync("upstream says " + code);
    }

    private static async Task EchoWebSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[4096];
        while (true)
        {
            var message = await socket.ReceiveAsync(buffer, context.RequestAborted);
            if (message.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
                return;
            }

            var reply = Encoding.UTF8.GetBytes("echo: " + Encoding.UTF8.GetString(buffer, 0, message.Count));
            await socket.SendAsync(reply, WebSocketMessageType.Text, endOfMessage: true, context.RequestAborted);
        }
    }

    private static async Task<long> CountBodyAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
        }

        return total;
    }
}

/// <summary>What the API received: enough to check what the gateway forwarded.</summary>
public sealed record ReceivedRequest(
    string Method,
    string Path,
    string RawTarget,
    string Query,
    int LocalPort,
    Dictionary<string, string[]> Headers,
    long BodyLength)
{
    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value is { } values ? string.Join(", ", values) : null;

    public static ReceivedRequest From(HttpContext context) => new(
        context.Request.Method,
        context.Request.Path.Value ?? string.Empty,
        context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget,
        context.Request.QueryString.Value ?? string.Empty,
        context.Connection.LocalPort,
        context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.Select(v => v ?? string.Empty).ToArray(), StringComparer.OrdinalIgnoreCase),
        0);
}
