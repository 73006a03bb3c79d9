using System.Diagnostics;
using Bff.Observability;
using Bff.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bff.Tests.Observability;

public sealed partial class RedactionTests
{
    [Theory]
    [InlineData("GET https://gw/signin-oidc?code=abc&state=xyz - 302", "GET https://gw/signin-oidc?code=Redacted&state=Redacted - 302")]
    [InlineData("MessageReceived: '?code=abc'.", "MessageReceived: '?code=Redacted'.")]
    [InlineData("https://idp/endsession?id_token_hint=eyJ.a.b&post_logout_redirect_uri=https%3A%2F%2Fgw&state=s", "https://idp/endsession?id_token_hint=Redacted&post_logout_redirect_uri=Redacted&state=Redacted")]
    [InlineData("https://idp/authorize?client_id=c&request_uri=urn:x:y", "https://idp/authorize?client_id=Redacted&request_uri=Redacted")]
    [InlineData("https://spa/cb#access_token=t&token_type=Bearer", "https://spa/cb#access_token=Redacted&token_type=Redacted")]
    [InlineData("/a?x=1 and /b?y=2", "/a?x=Redacted and /b?y=Redacted")]
    [InlineData("/path?flag&empty=&k=v", "/path?flag&empty=&k=Redacted")]
    public void Query_values_are_blanked_wherever_a_url_appears(string text, string expected) =>
        Assert.Equal(expected, UrlQueryRedactor.Redact(text));

    [Theory]
    [InlineData("Is it ready? Not yet.")]
    [InlineData("Session 0123abcd created for subject 9f9f.")]
    [InlineData("/bff/user")]
    public void Text_without_query_values_is_returned_as_is(string text) =>
        Assert.Same(text, UrlQueryRedactor.Redact(text));

    [Theory]
    [InlineData("Invalid request header: 'Cookie __Host-bff=skvSbRfjnh-FV-K1HdZbrjBy70pv8vxQbEUZJ8AnID8\\x0D\\x0A'", "Invalid request header: 'Cookie __Host-bff=Redacted\\x0D\\x0A'")]
    [InlineData("Invalid request header: 'Cookie: theme=dark; __Host-bff=abc\\x0D\\x0A'\nnext line", "Invalid request header: 'Cookie: Redacted\nnext line")]
    [InlineData("Location: https://idp/a; and Set-Cookie: __Secure-bff.nonce.CfDJ8abc=N; path=/signin-oidc,__Secure-bff.correlation.xyz=N", "Location: https://idp/a; and Set-Cookie: Redacted")]
    [InlineData("cookie __Host-bff.correlation.Q2ZESjhhYmM=N sent", "cookie __Host-bff.correlation.Redacted=Redacted sent")]
    [InlineData("names .AspNetCore.Correlation.abcdef and __host-BFF = k", "names .AspNetCore.Correlation.Redacted and __host-BFF = Redacted")]
    [InlineData("Dropped a Set-Cookie for the session cookie from the API's response on route r.", null)]
    [InlineData("A request carried a malformed session cookie; it is treated as anonymous.", null)]
    public void Cookie_values_and_sign_in_cookie_names_are_blanked_wherever_they_appear(string text, string? expected)
    {
        var redactor = CookieRedactor.FromConfiguration(configuration: null);

        var redacted = redactor.Redact(text);

        if (expected is null)
        {
            Assert.Same(text, redacted);
        }
        else
        {
            Assert.Equal(expected, redacted);
        }
    }

    [Fact]
    public void Span_attributes_and_names_lose_their_query_values()
    {
        using var source = new ActivitySource("redaction-test");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "redaction-test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var activity = source.StartActivity("GET /signin-oidc?code=abc")!;
        activity.SetTag("url.query", "code=abc&state=xyz");
        activity.SetTag("url.full", "https://gw/signin-oidc?code=abc");
        activity.SetTag("http.route", "/bff/user");
        activity.SetTag("http.response.status_code", 302);

        new RedactingActivityProcessor().OnEnd(activity);

        Assert.Equal("code=Redacted&state=Redacted", activity.GetTagItem("url.query"));
        Assert.Equal("https://gw/signin-oidc?code=Redacted", activity.GetTagItem("url.full"));
        Assert.Equal("/bff/user", activity.GetTagItem("http.route"));
        Assert.Equal(302, activity.GetTagItem("http.response.status_code"));
        Assert.Equal("GET /signin-oidc?code=Redacted", activity.DisplayName);
    }

    [Fact]
    public void Log_messages_structured_values_and_scopes_lose_their_query_values_for_every_provider()
    {
        var captured = new CapturingLoggerProvider();
        var scopes = new ScopeRecorder();
        var collection = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(captured).AddProvider(scopes));
        BffLoggerFactory.Decorate(collection);
        var services = collection.BuildServiceProvider();
        var logger = services.GetRequiredService<ILogger<RedactionTests>>();

        using (RequestScope(logger, "GET", new Uri("https://idp/x?secret=1")))
        {
            Request(logger, "https://gw/cb?code=abc", new QueryString("?state=xyz"));
            NothingToHide(logger, "/bff/user");
        }

        var lines = captured.Lines.ToArray();
        Assert.Equal("Request to https://gw/cb?code=Redacted with ?state=Redacted", lines[0].Message.Split(" {")[0]);
        Assert.Contains("Url=https://gw/cb?code=Redacted", lines[0].Message, StringComparison.Ordinal);
        Assert.Contains("Query=?state=Redacted", lines[0].Message, StringComparison.Ordinal);
        Assert.DoesNotContain("abc", captured.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain("xyz", captured.AllText, StringComparison.Ordinal);
        Assert.StartsWith("Nothing to hide in /bff/user", lines[1].Message, StringComparison.Ordinal);
        var scope = Assert.Single(scopes.Scopes);
        Assert.Equal("HTTP GET https://idp/x?secret=Redacted", scope.Text);
        Assert.Contains(scope.Values, v => v.Key == "Uri" && Equals(v.Value, "https://idp/x?secret=Redacted"));
    }

    /// <summary>Records the scopes loggers are asked to open, as a provider that writes scopes would see them.</summary>
    private sealed class ScopeRecorder : ILoggerProvider, ILogger
    {
        public List<(string Text, KeyValuePair<string, object?>[] Values)> Scopes { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            Scopes.Add((state.ToString()!, state is IEnumerable<KeyValuePair<string, object?>> values ? [.. values] : []));
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }

        public void Dispose()
        {
        }
    }

    private static readonly Func<ILogger, string, Uri, IDisposable?> RequestScope =
        LoggerMessage.DefineScope<string, Uri>("HTTP {Method} {Uri}");

    [LoggerMessage(1, LogLevel.Trace, "Request to {Url} with {Query}")]
    private static partial void Request(ILogger logger, string url, QueryString query);

    [LoggerMessage(2, LogLevel.Information, "Nothing to hide in {Path}")]
    private static partial void NothingToHide(ILogger logger, string path);
}
