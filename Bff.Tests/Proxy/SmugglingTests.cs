using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Bff.Tests.Proxy;

/// <summary>
/// Request-smuggling shapes sent as raw bytes to a real Kestrel gateway: the connection is closed and the request
/// hidden in the body never reaches the API. Malformed framing is refused with 400. Both Content-Length and
/// Transfer-Encoding is the one shape Kestrel serves (RFC 9112 §6.3: the chunked encoding wins, and Kestrel drops the
/// length and closes the connection afterwards, so nothing that follows on it is read as a request).
/// </summary>
public sealed class SmugglingTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;
    private string _sessionKey = null!;

    public async Task InitializeAsync()
    {
        _host = await ProxyTestHost.StartAsync(kestrel: true);
        (_, var session) = await _host.SignedInBrowserAsync();
        _sessionKey = session.Key;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public static TheoryData<string, string> Shapes => new()
    {
        {
            "Content-Length and Transfer-Encoding",
            "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        },
        {
            "two different Content-Lengths",
            "Content-Length: 4\r\nContent-Length: 48\r\n\r\n" +
            "abcdGET /api/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        },
        {
            "a chunk extension with a bare LF",
            "Transfer-Encoding: chunked\r\n\r\n" +
            "4;ext\nxx\r\nabcd\r\n0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        },
        {
            "an obfuscated Transfer-Encoding",
            "Transfer-Encoding: xchunked\r\n\r\n" +
            "0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_smuggling_shape_is_refused_and_the_connection_closed(string shape, string headersAndBody)
    {
        var (status, closed) = await SendRawAsync(headersAndBody);

        var expected = shape.StartsWith("Content-Length and", StringComparison.Ordinal) ? 200 : 400;
        Assert.True(status == expected, $"{shape}: {status}");
        Assert.True(closed, $"{shape}: the connection stayed open");
        Assert.DoesNotContain(_host.Api.Received, r => r.Path.Contains("smuggled", StringComparison.Ordinal));
    }

    private async Task<(int Status, bool Closed)> SendRawAsync(string headersAndBody)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _host.Address!.Port);
        await using var stream = client.GetStream();
        var request = $"POST /api/x HTTP/1.1\r\nHost: {_host.Address.Authority}\r\nX-CSRF: 1\r\n" +
            $"Cookie: {ProxyTestHost.CookieName}={_sessionKey}\r\n" + headersAndBody;
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));

        // Read until the server closes the connection (bounded: a server that keeps it open fails the test).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var buffer = new byte[64 * 1024];
        var received = new StringBuilder();
        var closed = false;
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    closed = true;
                    break;
                }

                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
            closed = true;
        }

        var text = received.ToString();
        var status = text.Length > 12 ? int.Parse(text.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture) : 0;
        return (status, closed);
    }
}
