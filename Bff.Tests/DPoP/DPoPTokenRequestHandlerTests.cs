using System.Net;
using System.Text;
using Bff.Configuration;
using Bff.DPoP;
using Bff.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Bff.Tests.DPoP;

/// <summary>
/// A token request the provider answers <c>use_dpop_nonce</c> is sent once more, but a client assertion in it is never
/// sent twice: its <c>jti</c> may already be recorded as spent.
/// </summary>
public sealed class DPoPTokenRequestHandlerTests
{
    private static readonly Uri TokenEndpoint = new("https://login.example.com/token");

    private sealed class Provider : HttpMessageHandler
    {
        public List<(string Body, string? Proof)> Received { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var proof = request.Headers.TryGetValues("DPoP", out var values) ? values.Single() : null;
            Received.Add((await request.Content!.ReadAsStringAsync(cancellationToken), proof));
            if (DPoPProofReader.Read(proof)?.Nonce == "server-nonce")
            {
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"access_token\":\"at\",\"token_type\":\"DPoP\"}", Encoding.UTF8, "application/json") };
            }

            var challenge = new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StringContent("{\"error\":\"use_dpop_nonce\"}", Encoding.UTF8, "application/json") };
            challenge.Headers.Add("DPoP-Nonce", "server-nonce");
            return challenge;
        }
    }

    private sealed class Renewal : IClientAssertionRenewal
    {
        public ValueTask<string?> CreateAsync(Uri tokenEndpoint, CancellationToken cancellationToken) => ValueTask.FromResult<string?>("fresh.assertion.jwt");
    }

    private static (HttpMessageInvoker Client, Provider Provider) Create(IClientAssertionRenewal? renewal)
    {
        var options = Options.Create(new BffOptions { DPoP = { Enabled = true } });
        var services = new ServiceCollection().AddKeyedSingleton<IDPoPKeyStore>(SessionStoreKind.InMemory, new InMemoryDPoPKeyStore());
        if (renewal is not null)
        {
            services.AddSingleton(renewal);
        }

        var provider = services.BuildServiceProvider();
        var keys = new DPoPKeys(options, provider, new EphemeralDataProtectionProvider(), TimeProvider.System, NullLogger<DPoPKeys>.Instance);
        var upstream = new Provider();
        var handler = new DPoPTokenRequestHandler(keys, new DPoPNonces(), options, TimeProvider.System, provider, NullLogger<DPoPTokenRequestHandler>.Instance)
        {
            InnerHandler = upstream,
        };
        return (new HttpMessageInvoker(handler), upstream);
    }

    private static HttpRequestMessage RefreshRequest(bool withAssertion) => new(HttpMethod.Post, TokenEndpoint)
    {
        Content = new FormUrlEncodedContent(withAssertion
            ? [new("grant_type", "refresh_token"), new("refresh_token", "rt-1"), new("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), new("client_assertion", "spent.assertion.jwt")]
            : [new("grant_type", "refresh_token"), new("refresh_token", "rt-1")]),
    };

    [Fact]
    public async Task Without_a_client_assertion_the_request_is_sent_once_more_with_the_nonce_and_the_same_refresh_token()
    {
        var (client, provider) = Create(renewal: null);

        using var response = await client.SendAsync(RefreshRequest(withAssertion: false), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, provider.Received.Count);
        Assert.Equal(provider.Received[0].Body, provider.Received[1].Body);
        Assert.NotEqual(DPoPProofReader.Read(provider.Received[0].Proof)!.Jti, DPoPProofReader.Read(provider.Received[1].Proof)!.Jti);
    }

    [Fact]
    public async Task A_client_assertion_that_cannot_be_renewed_is_not_sent_twice()
    {
        var (client, provider) = Create(renewal: null);

        using var response = await client.SendAsync(RefreshRequest(withAssertion: true), CancellationToken.None);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("use_dpop_nonce", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(provider.Received);
    }

    [Fact]
    public async Task A_renewed_client_assertion_replaces_the_spent_one_in_the_second_request()
    {
        var (client, provider) = Create(new Renewal());

        using var response = await client.SendAsync(RefreshRequest(withAssertion: true), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, provider.Received.Count);
        Assert.Contains("client_assertion=spent.assertion.jwt", provider.Received[0].Body, StringComparison.Ordinal);
        Assert.Contains("client_assertion=fresh.assertion.jwt", provider.Received[1].Body, StringComparison.Ordinal);
        Assert.DoesNotContain("spent.assertion.jwt", provider.Received[1].Body, StringComparison.Ordinal);
        Assert.Contains("refresh_token=rt-1", provider.Received[1].Body, StringComparison.Ordinal);
    }
}
