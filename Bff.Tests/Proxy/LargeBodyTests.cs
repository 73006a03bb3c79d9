using System.Net;
using System.Net.Http.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Proxy;

[CollectionDefinition(nameof(LargeBodyTests), DisableParallelization = true)]
public sealed class RunsAlone;

/// <summary>
/// 100 MB each way through a real Kestrel gateway. Runs alone: it measures the bytes allocated by the whole test
/// process (gateway, API and client), which would be at least the body's size if anything buffered it.
/// </summary>
[Collection(nameof(LargeBodyTests))]
public sealed class LargeBodyTests : IAsyncLifetime
{
    private const long BodySize = 100L * 1024 * 1024;
    private const long AllowedGrowth = 30L * 1024 * 1024;

    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() => _host = await ProxyTestHost.StartAsync(kestrel: true, routes: r =>
    {
        r["ReverseProxy:Routes:upload:ClusterId"] = "api";
        r["ReverseProxy:Routes:upload:Match:Path"] = "/upload-api/{**rest}";
        r["ReverseProxy:Routes:upload:MaxRequestBodySize"] = "-1";
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_100_MB_upload_streams_through_without_being_buffered()
    {
        var (_, session) = await _host.SignedInBrowserAsync();
        using var client = _host.CreateApiClient(session.Key);
        await Warm(client);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        using var response = await client.PostAsync("/upload-api/files", new ZeroContent(BodySize));
        var echo = await response.Content.ReadFromJsonAsync<ReceivedRequest>();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(BodySize, echo!.BodyLength);
        Assert.True(allocated < AllowedGrowth, $"{allocated / (1024 * 1024)} MB allocated while streaming 100 MB up");
    }

    [Fact]
    public async Task A_100_MB_download_streams_through_without_being_buffered()
    {
        var (_, session) = await _host.SignedInBrowserAsync();
        using var client = _host.CreateApiClient(session.Key);
        await Warm(client);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        using var response = await client.GetAsync($"/api/download/{BodySize}", HttpCompletionOption.ResponseHeadersRead);
        var received = await Drain(await response.Content.ReadAsStreamAsync());
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(BodySize, received);
        Assert.True(allocated < AllowedGrowth, $"{allocated / (1024 * 1024)} MB allocated while streaming 100 MB down");
    }

    [Fact]
    public async Task A_body_over_the_default_limit_on_an_ordinary_route_is_refused_with_413()
    {
        var (_, session) = await _host.SignedInBrowserAsync();
        using var client = _host.CreateApiClient(session.Key);

        // Expect: 100-continue lets the client read the refusal instead of failing while it still sends the body.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/files") { Content = new ZeroContent(40L * 1024 * 1024) };
        request.Headers.ExpectContinue = true;

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    private static async Task Warm(HttpClient client)
    {
        // Connections, JIT and pools are set up outside the measurement.
        using var upload = await client.PostAsync("/upload-api/warm", new ZeroContent(1024 * 1024));
        using var download = await client.GetAsync("/api/download/1048576");
        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
    }

    private static async Task<long> Drain(Stream stream)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            total += read;
        }

        return total;
    }

    /// <summary>A request body of zeros written from one small buffer.</summary>
    private sealed class ZeroContent(long length) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new byte[64 * 1024];
            for (long sent = 0; sent < length; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, length - sent)));
            }
        }

        protected override bool TryComputeLength(out long length1)
        {
            length1 = length;
            return true;
        }
    }
}
