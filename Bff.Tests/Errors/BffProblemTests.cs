using Bff.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Errors;

/// <summary>
/// A temporary failure tells the client when to try again, the same way wherever it is answered: the delay belongs to
/// the error, and an explicit one (a provider's own Retry-After) wins over it.
/// </summary>
public sealed class BffProblemTests
{
    [Theory]
    [InlineData("session_store_unavailable", "5")]
    [InlineData("token_refresh_unavailable", "5")]
    [InlineData("provider_unavailable", "5")]
    [InlineData("session_capacity_reached", "60")]
    public async Task A_temporary_error_written_without_a_delay_carries_its_own_retry_after(string code, string seconds)
    {
        var context = NewContext();

        await BffProblem.WriteAsync(context, ErrorWithCode(code));

        Assert.Equal(503, context.Response.StatusCode);
        Assert.Equal(seconds, context.Response.Headers.RetryAfter.ToString());
    }

    [Fact]
    public async Task An_endpoint_answering_a_temporary_error_sends_its_retry_after()
    {
        var context = NewContext();

        await BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable).ExecuteAsync(context);

        Assert.Equal("5", context.Response.Headers.RetryAfter.ToString());
    }

    [Fact]
    public async Task A_given_delay_wins_over_the_errors_own()
    {
        var context = NewContext();

        await BffProblem.WriteAsync(context, BffError.TokenRefreshUnavailable, retryAfter: TimeSpan.FromSeconds(30));

        Assert.Equal("30", context.Response.Headers.RetryAfter.ToString());
    }

    [Fact]
    public async Task A_final_error_has_no_retry_after()
    {
        var context = NewContext();

        await BffProblem.WriteAsync(context, BffError.SessionExpired);

        Assert.False(context.Response.Headers.ContainsKey("Retry-After"));
    }

    private static BffError ErrorWithCode(string code) =>
        typeof(BffError).GetFields().Select(f => f.GetValue(null)).OfType<BffError>().Single(e => e.Code == code);

    private static DefaultHttpContext NewContext() => new()
    {
        RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider(),
        Response = { Body = new MemoryStream() },
    };
}
