using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;
using Bff.Tests.LocalApis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Bff.Tests.DPoP;

/// <summary>A local API calling its API with the user's DPoP-bound token through <see cref="IBffAccessTokens"/>.</summary>
public sealed class DPoPLocalApiTests : IAsyncLifetime
{
    private LocalApiTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await LocalApiTestHost.StartAsync(
            endpoints: app => app.MapGet("/local/dpop-orders", static async (HttpContext context, IBffAccessTokens tokens, IHttpClientFactory http) =>
            {
                var token = await tokens.GetUserAccessTokenAsync(context);
                if (!token.Succeeded)
                {
                    return token.ToProblem();
                }

                using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(http.CreateClient("orders").BaseAddress!, "api/orders/9?x=1"));
                token.Authorize(request);
                using var response = await http.CreateClient("orders").SendAsync(request);
                return Results.Json(new { tokenType = token.TokenType, status = (int)response.StatusCode });
            }).RequireBffSession(),
            extraSettings: new Dictionary<string, string?> { ["Bff:DPoP:Enabled"] = "true" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_DPoP_bound_token_says_so_and_authorizes_a_request_with_a_proof_of_it()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);

        var response = await browser.GetWithCsrfAsync("/local/dpop-orders");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("DPoP", json.RootElement.GetProperty("tokenType").GetString());
        var received = Assert.Single(_host.Api.Received, r => r.Path == "/api/orders/9");
        var authorization = received.Header("Authorization")!;
        Assert.StartsWith("DPoP ", authorization, StringComparison.Ordinal);
        var proof = DPoPProofReader.Read(received.Header("DPoP"))!;
        Assert.Equal("PUT", proof.Htm);
        Assert.Equal(new Uri(_host.Api.Address, "api/orders/9").ToString(), proof.Htu);
        Assert.Equal(DPoPProofReader.AccessTokenHash(authorization["DPoP ".Length..]), proof.Ath);
        Assert.Equal(_host.Idp.BoundKeyOf(authorization["DPoP ".Length..]), proof.Thumbprint);
    }

    [Fact]
    public async Task A_bearer_token_says_so_and_authorizes_without_a_proof()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var response = await browser.GetWithCsrfAsync("/local/dpop-orders");

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Bearer", json.RootElement.GetProperty("tokenType").GetString());
        var received = Assert.Single(_host.Api.Received, r => r.Path == "/api/orders/9");
        Assert.StartsWith("Bearer ", received.Header("Authorization"), StringComparison.Ordinal);
        Assert.Null(received.Header("DPoP"));
    }
}
