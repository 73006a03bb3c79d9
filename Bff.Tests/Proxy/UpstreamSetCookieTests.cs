using Bff.Proxy;

namespace Bff.Tests.Proxy;

/// <summary>
/// The name a browser would read from an upstream Set-Cookie (RFC 6265bis §5.6), and the decision on the whole
/// header. Runs on every proxied response that carries a Set-Cookie, so it must not allocate.
/// </summary>
public sealed class UpstreamSetCookieTests
{
    private const string Session = "__Host-bff";

    [Theory]
    [InlineData("__Host-bff=x; Path=/; Secure", "GatewayCookie")]
    [InlineData("__Host-bff =x; Path=/; Secure", "GatewayCookie")]
    [InlineData("\t__Host-bff\t=x", "GatewayCookie")]
    [InlineData("__HOST-BFF=x", "GatewayCookie")]
    [InlineData("__Host-other=x", "GatewayCookie")]
    [InlineData("__secure-anything=x", "GatewayCookie")]
    [InlineData("__Host-bff.nonce.abc=N", "GatewayCookie")]
    [InlineData("__Host-bff", "Malformed")]
    [InlineData("=__Host-bff=x", "Malformed")]
    [InlineData(" =x", "Malformed")]
    [InlineData("", "Malformed")]
    [InlineData("theme=dark\r\nSet-Cookie: __Host-bff=x", "Malformed")]
    [InlineData("theme=dark\u0000__Host-bff=x", "Malformed")]
    [InlineData("theme=dark\u007f", "Malformed")]
    [InlineData("theme=dark; Path=/; Secure", "Allowed")]
    [InlineData("theme = dark ; Path=/", "Allowed")]
    [InlineData("my__Host-bff=x", "Allowed")]
    [InlineData("theme=__Host-bff=x", "Allowed")]
    public void A_header_is_judged_by_the_name_a_browser_reads(string header, string expected)
    {
        Assert.Equal(expected, UpstreamSetCookie.Judge(header, Session).ToString());
    }

    [Fact]
    public void A_header_longer_than_the_limit_is_too_large_unless_it_is_the_gateways()
    {
        Assert.Equal(UpstreamSetCookie.Verdict.TooLarge, UpstreamSetCookie.Judge("big=" + new string('x', UpstreamSetCookie.MaxLength), Session));
        Assert.Equal(UpstreamSetCookie.Verdict.GatewayCookie, UpstreamSetCookie.Judge("__Host-bff=" + new string('x', 5000), Session));
    }

    [Fact]
    public void Judging_a_header_and_checking_escapes_do_not_allocate()
    {
        const string header = " __Host-bff\t=value; Path=/; Secure; HttpOnly";
        const string allowed = "theme=dark; Path=/; Secure; HttpOnly; SameSite=Lax";
        const string target = "/api/search/caf%C3%A9%20au%20lait/10%25?q=%zz";
        for (var i = 0; i < 1000; i++)
        {
            UpstreamSetCookie.Judge(header, Session);
            UpstreamSetCookie.Judge(allowed, Session);
            ProxyPath.HasInvalidEscapes(target);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            UpstreamSetCookie.Judge(header, Session);
            UpstreamSetCookie.Judge(allowed, Session);
            ProxyPath.HasInvalidEscapes(target);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
