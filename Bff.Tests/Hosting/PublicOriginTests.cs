using System.Net;
using System.Text.Json;
using System.Web;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Hosting;

/// <summary>
/// The published gateway on real Kestrel, configured with <c>Bff:PublicOrigin=https://app.example.test</c> and reached
/// over plain http on loopback (as an ingress that terminates TLS reaches it), with the Host header a client chooses:
/// it answers only for its public host, and builds every URL and forwarded header from the configuration.
/// </summary>
public sealed class PublicOriginTests : IClassFixture<PublicOriginTests.Gateway>
{
    private const string PublicHost = "app.example.test";

    private readonly Gateway _gateway;

    public PublicOriginTests(Gateway gateway) => _gateway = gateway;

    [Theory]
    [InlineData("evil.example")]
    [InlineData("app.example.test.evil.example")]
    [InlineData("127.0.0.1")]
    public async Task Sign_in_for_a_foreign_host_is_refused_before_anything_reaches_the_provider(string host)
    {
        var pushesBefore = _gateway.Idp.RequestsTo("/par").Count();

        using var response = await _gateway.SendAsync("/bff/login?returnUrl=%2F", host);

        await AssertInvalidHostAsync(response);
        Assert.Equal(pushesBefore, _gateway.Idp.RequestsTo("/par").Count());
        Assert.DoesNotContain("   at ", _gateway.Process.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PublicHost)]
    [InlineData("APP.example.test:8080")]
    public async Task Sign_in_for_the_public_host_redirects_with_the_configured_https_origin(string host)
    {
        using var response = await _gateway.SendAsync("/bff/login?returnUrl=%2F", host);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var requestUri = HttpUtility.ParseQueryString(response.Headers.Location!.Query)["request_uri"];
        Assert.False(string.IsNullOrEmpty(requestUri));
        var pushed = TestIdentityProvider.Form(_gateway.Idp.RequestsTo("/par").Last());
        Assert.Equal("https://app.example.test/signin-oidc", pushed["redirect_uri"]);
        Assert.All(SetCookie.From(response), c => Assert.True(c.Secure));
        Assert.Equal("max-age=31536000", Assert.Single(response.Headers.GetValues("Strict-Transport-Security")));
    }

    [Fact]
    public async Task An_api_call_for_a_foreign_host_never_reaches_the_api()
    {
        using var response = await _gateway.SendAsync("/api/foreign-host", "evil.example");

        await AssertInvalidHostAsync(response);
        Assert.DoesNotContain(_gateway.Api.Received, r => r.Path.Contains("foreign-host", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_api_receives_the_public_origin_as_forwarded_host_and_scheme()
    {
        using var response = await _gateway.SendAsync("/api/public-host", PublicHost + ":80");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_gateway.Api.Received, r => r.Path.Contains("public-host", StringComparison.Ordinal));
        Assert.Equal(PublicHost, received.Header("X-Forwarded-Host"));
        Assert.Equal("https", received.Header("X-Forwarded-Proto"));
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Kubernetes_probes_addressed_to_the_pod_are_answered(string path)
    {
        using var response = await _gateway.SendAsync(path, "10.1.2.3:8080");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task AssertInvalidHostAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"answered {(int)response.StatusCode}: {body}");
        Assert.Null(response.Headers.Location);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal("invalid_host", problem.RootElement.GetProperty("error").GetString());
    }

    /// <summary>A stub provider advertising PAR, an echo API behind a token-less route, and <c>dotnet Bff.Host.dll</c>.</summary>
    public sealed class Gateway : IAsyncLifetime
    {
        private HttpClient _http = null!;

        public TestIdentityProvider Idp { get; } = new(advertisePar: true);

        public UpstreamApi Api { get; private set; } = null!;

        public GatewayProcess Process { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Api = await UpstreamApi.StartAsync();
            Process = GatewayProcess.Start(new Dictionary<string, string?>
            {
                ["Bff__Authority"] = Idp.Authority,
                ["Bff__ClientId"] = TestIdentityProvider.ClientId,
                ["Bff__ClientSecret"] = TestIdentityProvider.ClientSecret,
                ["Bff__RequireHttpsMetadata"] = "false",
                ["Bff__PublicOrigin"] = "https://" + PublicHost,
                ["ReverseProxy__Clusters__api__Destinations__main__Address"] = Api.Address.ToString(),
                ["ReverseProxy__Routes__api__ClusterId"] = "api",
                ["ReverseProxy__Routes__api__Match__Path"] = "/api/{**rest}",
                ["ReverseProxy__Routes__api__Metadata__Bff.Token"] = "None",
                ["ReverseProxy__Routes__api__Metadata__Bff.Csrf"] = "false",
            });
            _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
            {
                BaseAddress = await Process.WaitUntilListeningAsync(),
            };
        }

        /// <summary>GET over the loopback connection, with the Host header a client chose.</summary>
        public Task<HttpResponseMessage> SendAsync(string pathAndQuery, string host)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
            request.Headers.Host = host;
            return _http.SendAsync(request);
        }

        public async Task DisposeAsync()
        {
            _http.Dispose();
            Process.Dispose();
            await Api.DisposeAsync();
            Idp.Dispose();
        }
    }
}
