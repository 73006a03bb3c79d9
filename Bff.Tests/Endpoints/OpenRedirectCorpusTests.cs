using Bff.Authentication;
using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Endpoints;

/// <summary>
/// oauth2-proxy's corpus of open-redirect payloads (TestData/openredirects.txt): not one of them may leave the gateway
/// as a redirect, whether the endpoint receives it as written or as an attacker's link decodes it once more.
/// </summary>
public sealed class OpenRedirectCorpusTests : IDisposable
{
    private static readonly string[] Payloads = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Endpoints", "TestData", "openredirects.txt"))
        .Where(line => line.Length > 0)
        .ToArray();

    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;

    public OpenRedirectCorpusTests() => _gateway = new GatewayFactory(_idp);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public void The_corpus_is_all_there() => Assert.Equal(558, Payloads.Length);

    [Fact]
    public void The_check_refuses_every_payload_as_written_and_decoded()
    {
        var accepted = Payloads
            .SelectMany(p => new[] { p, Uri.UnescapeDataString(p) })
            .Where(p => ReturnUrl.TryNormalize(p, out _))
            .ToList();

        Assert.True(accepted.Count == 0, "Accepted: " + string.Join(" | ", accepted));
    }

    [Fact]
    public async Task Login_and_logout_refuse_every_payload_with_invalid_return_url()
    {
        using var browser = _gateway.CreateBrowser();
        var failures = new List<string>();
        foreach (var payload in Payloads)
        {
            foreach (var endpoint in new[] { "/bff/login?returnUrl=", "/bff/logout?sid=x&returnUrl=" })
            {
                var response = await browser.GetAsync(endpoint + Uri.EscapeDataString(payload));
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.BadRequest || response.Headers.Location is not null
                    || JsonDocument.Parse(body).RootElement.GetProperty("error").GetString() != "invalid_return_url")
                {
                    failures.Add($"{endpoint}{payload} -> {(int)response.StatusCode} {response.Headers.Location}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
