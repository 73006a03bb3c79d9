using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// An OpenTelemetry collector stand-in on loopback that accepts OTLP over gRPC (HTTP/2 without TLS, as collectors
/// listen on 4317) or over http/protobuf (4318), answers success and keeps every request body.
/// </summary>
public sealed class FakeOtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, byte[] Body)> _requests;

    private FakeOtlpCollector(WebApplication app, ConcurrentQueue<(string Path, byte[] Body)> requests, Uri endpoint)
    {
        _app = app;
        _requests = requests;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    public IReadOnlyCollection<(string Path, byte[] Body)> Requests => _requests.ToArray();

    /// <param name="protocol"><c>grpc</c> or <c>http/protobuf</c>.</param>
    public static async Task<FakeOtlpCollector> StartAsync(string protocol)
    {
        var grpc = protocol == "grpc";
        var requests = new ConcurrentQueue<(string, byte[])>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            listen.Protocols = grpc ? HttpProtocols.Http2 : HttpProtocols.Http1));
        var app = builder.Build();
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            requests.Enqueue((context.Request.Path.Value ?? string.Empty, body.ToArray()));
            if (grpc)
            {
                // One empty message (no partial-success details), then status OK in the trailers.
                context.Response.ContentType = "application/grpc";
                await context.Response.Body.WriteAsync(new byte[5]);
                context.Response.AppendTrailer("grpc-status", "0");
            }
            else
            {
                context.Response.ContentType = "application/x-protobuf";
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new FakeOtlpCollector(app, requests, new Uri(address));
    }

    /// <summary>The bodies received for one signal: traces, metrics or logs (by gRPC service or HTTP path).</summary>
    public IReadOnlyList<byte[]> BodiesFor(string signal) =>
        [.. Requests.Where(r => r.Path == "/v1/" + signal
            || r.Path.StartsWith($"/opentelemetry.proto.collector.{(signal == "traces" ? "trace" : signal)}.v1.", StringComparison.Ordinal)).Select(r => r.Body)];

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
