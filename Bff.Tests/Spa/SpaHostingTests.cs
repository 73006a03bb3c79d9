using System.Net;
using System.Text.Json;
using Bff.Spa;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Bff.Tests.Spa;

/// <summary>The gateway serving a built SPA from its own origin (Bff:Spa:RootPath), composed as Program.cs composes it.</summary>
public sealed class SpaHostingTests : IDisposable
{
    private const string IndexHtml = "<!doctype html><html><body><div id=\"app\"></div><script type=\"module\" src=\"/assets/index-Cq3x8Yb1.js\"></script></body></html>";

    private readonly string _root = Directory.CreateTempSubdirectory("bff-spa-").FullName;
    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;
    private readonly HttpClient _client;

    public SpaHostingTests()
    {
        File.WriteAllText(Path.Combine(_root, "index.html"), IndexHtml);
        Directory.CreateDirectory(Path.Combine(_root, "assets"));
        File.WriteAllText(Path.Combine(_root, "assets", "index-Cq3x8Yb1.js"), "console.log('spa');");
        File.WriteAllText(Path.Combine(_root, "favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");

        _gateway = new GatewayFactory(_idp, new Dictionary<string, string?> { ["Bff:Spa:RootPath"] = _root });
        _client = _gateway.CreateClient(new() { AllowAutoRedirect = false, BaseAddress = new Uri("https://localhost") });
    }

    public void Dispose()
    {
        _client.Dispose();
        _gateway.Dispose();
        _idp.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/orders/42")]
    [InlineData("/orders/42?tab=items")]
    [InlineData("/index.html")]
    public async Task Pages_and_deep_links_get_index_html_that_is_never_cached(string path)
    {
        var response = await _client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(IndexHtml, await response.Content.ReadAsStringAsync());
        Assert.True(response.Headers.CacheControl?.NoStore, $"Cache-Control was '{response.Headers.CacheControl}'");
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task Hashed_assets_are_cached_for_a_year_as_immutable()
    {
        var response = await _client.GetAsync("/assets/index-Cq3x8Yb1.js");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("console.log('spa');", await response.Content.ReadAsStringAsync());
        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(SpaFiles.ImmutableCacheControl, response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Other_files_are_served_but_revalidated()
    {
        var response = await _client.GetAsync("/favicon.svg");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoCache);
        Assert.False(response.Headers.CacheControl?.NoStore);
        Assert.Null(response.Headers.CacheControl?.MaxAge);
    }

    [Theory]
    [InlineData("/assets/index-0ld0ld00.js")]
    [InlineData("/robots.txt")]
    public async Task A_missing_file_is_a_404_not_the_page(string path)
    {
        var response = await _client.GetAsync(path);

        await AssertNotFoundProblemAsync(response);
    }

    [Theory]
    [InlineData("/bff/unknown")]
    [InlineData("/BFF/Unknown")]
    [InlineData("/api/orders")]
    [InlineData("/health/whatever")]
    [InlineData("/signout-callback-oidc/extra")]
    public async Task Gateway_paths_never_fall_back_to_the_page(string path)
    {
        var response = await _client.GetAsync(path);

        await AssertNotFoundProblemAsync(response);
    }

    [Fact]
    public async Task Gateway_endpoints_keep_their_answers_to_the_wrong_method()
    {
        var response = await _client.GetAsync("/bff/backchannel");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Only_GET_and_HEAD_fall_back_to_the_page()
    {
        using var post = await _client.PostAsync("/orders", new StringContent("{}"));
        await AssertNotFoundProblemAsync(post);

        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/orders"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("text/html", head.Content.Headers.ContentType?.MediaType);
        Assert.True(head.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task Without_a_SPA_root_nothing_falls_back_to_a_page()
    {
        // The test host's content root (Bff.Host) has no wwwroot and no RootPath is configured.
        using var gateway = new GatewayFactory(_idp);
        using var client = gateway.CreateClient(new() { AllowAutoRedirect = false });

        var response = await client.GetAsync("/orders/42");

        await AssertNotFoundProblemAsync(response);
    }

    private static async Task AssertNotFoundProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(404, problem.RootElement.GetProperty("status").GetInt32());
        Assert.True(problem.RootElement.TryGetProperty("error", out _), "Problem Details without a stable error code");
    }
}
