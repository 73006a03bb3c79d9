using Bff.Configuration;
using Bff.Sessions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Bff.Tests.Sessions;

/// <summary>
/// The session key is read straight from the <c>Cookie</c> header: the browser's other cookies, white space, quotes,
/// look-alike names and several Cookie headers must not change which key is found, or find one that is not there.
/// </summary>
public sealed class SessionCookieTests
{
    private const string Key = "skvSbRfjnh-FV-K1HdZbrjBy70pv8vxQbEUZJ8AnID8";

    private static readonly SessionCookie Cookie = new(Options.Create(new BffOptions()));

    public static TheoryData<string, string?> Headers => new()
    {
        { $"__Host-bff={Key}", Key },
        { $"theme=dark; __Host-bff={Key}; _ga=GA1.2.3", Key },
        { $"theme=dark;__Host-bff={Key};_ga=1", Key },
        { $"  __Host-bff={Key}  ; other=1", Key },
        { $"\t__Host-bff=\t{Key}\t", Key },
        { $"__Host-bff=\"{Key}\"", Key },
        { $"__Host-bff={Key}; __Host-bff=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Key },
        { $"__host-bff={Key}", null },
        { $"x__Host-bff={Key}", null },
        { $"__Host-bff2={Key}", null },
        { $"other=__Host-bff={Key}", null },
        { $"__Host-bff={Key[..42]}", null },
        { $"__Host-bff={Key}x", null },
        { $"__Host-bff={Key[..40]}%2D", null },
        { "__Host-bff=", null },
        { "", null },
        { ";;;", null },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void Finds_exactly_the_session_key(string header, string? expected)
    {
        Assert.Equal(expected, Cookie.Read(Request(header)));
    }

    [Fact]
    public void Finds_the_key_in_a_later_cookie_header()
    {
        Assert.Equal(Key, Cookie.Read(Request("theme=dark", $"__Host-bff={Key}")));
    }

    [Theory]
    [InlineData("__Host-bff=short", true)]
    [InlineData("__Host-bff=", true)]
    [InlineData("theme=dark", false)]
    [InlineData("x__Host-bff=1", false)]
    public void Tells_a_malformed_session_cookie_from_none(string header, bool present)
    {
        var request = Request(header);

        Assert.Null(Cookie.Read(request));
        Assert.Equal(present, Cookie.IsPresent(request));
    }

    private static HttpRequest Request(params string[] cookieHeaders)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Cookie = new StringValues(cookieHeaders);
        return context.Request;
    }
}
