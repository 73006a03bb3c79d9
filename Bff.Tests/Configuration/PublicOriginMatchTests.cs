using Bff.Configuration;
using Microsoft.AspNetCore.Http;

namespace Bff.Tests.Configuration;

/// <summary>Which Host header values name the public origin's host: the port is not compared, the host is exactly.</summary>
public sealed class PublicOriginMatchTests
{
    [Theory]
    [InlineData("https://app.example.com", "app.example.com", true)]
    [InlineData("https://app.example.com", "APP.Example.com:8443", true)]
    [InlineData("https://app.example.com:8443", "app.example.com", true)]
    [InlineData("http://127.0.0.1:5080", "127.0.0.1:5080", true)]
    [InlineData("http://[::1]:5080", "[::1]:5080", true)]
    [InlineData("http://[::1]", "[::1]", true)]
    [InlineData("https://app.example.com", "evil.example", false)]
    [InlineData("https://app.example.com", "app.example.com.evil.example", false)]
    [InlineData("https://app.example.com", "evil.app.example.com", false)]
    [InlineData("https://app.example.com", "app.example.co", false)]
    [InlineData("https://app.example.com", "app.example.com:80:80", false)]
    [InlineData("http://[::1]", "[::2]:5080", false)]
    [InlineData("https://app.example.com", "", false)]
    public void A_host_matches_only_the_origins_host(string origin, string host, bool matches)
    {
        Assert.True(PublicOrigin.TryParse(origin, out var parsed, out _));

        Assert.Equal(matches, parsed.Matches(new HostString(host)));
    }
}
