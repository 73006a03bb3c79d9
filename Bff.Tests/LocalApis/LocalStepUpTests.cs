using System.Globalization;
using System.Net;
using Bff.Sessions;
using Bff.Tests.Proxy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.LocalApis;

/// <summary>
/// <c>RequireStepUp</c> on endpoints of the host's own: the same answer as a proxied route's <c>Bff.Acr</c> /
/// <c>Bff.MaxAge</c>, before the handler runs, and before authorization policies.
/// </summary>
public sealed class LocalStepUpTests : IAsyncLifetime
{
    private LocalApiTestHost _host = null!;
    private int _handled;

    public async Task InitializeAsync() =>
        _host = await LocalApiTestHost.StartAsync(
            services => services.AddAuthorizationBuilder().AddPolicy("ops", policy => policy.RequireClaim("groups", "ops")),
            app =>
            {
                app.MapPost("/local/transfer", () =>
                {
                    Interlocked.Increment(ref _handled);
                    return Results.Ok();
                }).RequireStepUp(maxAge: TimeSpan.FromMinutes(5));
                app.MapGet("/local/keys", () => Results.Ok("keys")).RequireBffSession().RequireStepUp(acr: ["mfa", "hwk"]);
                app.MapGet("/local/ops", () => Results.Ok("ops")).RequireStepUp(acr: ["mfa"]).RequireAuthorization("ops");
                var sensitive = app.MapGroup("/local/sensitive").RequireBffSession().RequireStepUp(acr: ["mfa"], maxAge: TimeSpan.FromMinutes(1));
                sensitive.MapGet("/both", () => Results.Ok("both"));
            });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private SessionClaim[] SignedIn(TimeSpan ago, string? acr = null, params SessionClaim[] more) =>
    [
        new("auth_time", (_host.Time.GetUtcNow() - ago).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
        .. acr is null ? [] : new[] { new SessionClaim("acr", acr) },
        .. more,
    ];

    private static readonly Dictionary<string, string> Csrf = new() { ["X-CSRF"] = "1" };

    [Fact]
    public async Task An_old_sign_in_gets_401_step_up_required_and_the_handler_does_not_run()
    {
        var (browser, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromMinutes(6)));

        var response = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/local/transfer"), new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["X-Bff-Return-Url"] = "/transfer",
        });

        var loginUrl = await StepUpRouteTests.AssertStepUpRequiredAsync(response);
        Assert.Equal("/bff/login?returnUrl=%2Ftransfer&max_age=300", loginUrl);
        Assert.Equal(0, _handled);
        Assert.Contains(_host.Logs.Lines, l => l.EventId.Id == 6100 && l.Message.Contains("/local/transfer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RequireStepUp_alone_guards_like_RequireBffSession()
    {
        var (browser, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromMinutes(1)));
        using var anonymous = _host.CreateBrowser();

        var withoutCsrf = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/local/transfer"));
        var withoutSession = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/local/transfer"), Csrf);
        var recent = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/local/transfer"), Csrf);

        await ForwardingTests.AssertProblemAsync(withoutCsrf, HttpStatusCode.Unauthorized, "csrf_header_missing");
        await ForwardingTests.AssertProblemAsync(withoutSession, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal(HttpStatusCode.OK, recent.StatusCode);
        Assert.Equal(1, _handled);
    }

    [Fact]
    public async Task Acr_requirements_on_an_endpoint_and_on_a_group_are_each_enforced()
    {
        var (weak, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.Zero, acr: "pwd"));
        var (strongButOld, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromMinutes(10), acr: "mfa"));
        var (strongAndRecent, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.Zero, acr: "mfa"));

        Assert.Equal("/bff/login?returnUrl=%2F&acr_values=mfa%20hwk", await StepUpRouteTests.AssertStepUpRequiredAsync(await weak.GetWithCsrfAsync("/local/keys")));
        Assert.Equal(HttpStatusCode.OK, (await strongButOld.GetWithCsrfAsync("/local/keys")).StatusCode);
        Assert.Equal("/bff/login?returnUrl=%2F&acr_values=mfa&max_age=60", await StepUpRouteTests.AssertStepUpRequiredAsync(await strongButOld.GetWithCsrfAsync("/local/sensitive/both")));
        Assert.Equal(HttpStatusCode.OK, (await strongAndRecent.GetWithCsrfAsync("/local/sensitive/both")).StatusCode);
    }

    [Fact]
    public async Task Step_up_is_checked_before_the_authorization_policy()
    {
        var (weakOutsider, _) = await _host.SignedInBrowserAsync("bob", claims: SignedIn(TimeSpan.Zero, acr: "pwd"));
        var (strongOutsider, _) = await _host.SignedInBrowserAsync("bob", claims: SignedIn(TimeSpan.Zero, acr: "mfa"));
        var (strongOps, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.Zero, "mfa", new SessionClaim("groups", "ops")));

        await StepUpRouteTests.AssertStepUpRequiredAsync(await weakOutsider.GetWithCsrfAsync("/local/ops"));
        await ForwardingTests.AssertProblemAsync(await strongOutsider.GetWithCsrfAsync("/local/ops"), HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(HttpStatusCode.OK, (await strongOps.GetWithCsrfAsync("/local/ops")).StatusCode);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(new[] { "m fa" }, null)]
    [InlineData(new[] { "mfa", "mfa" }, null)]
    [InlineData(null, -1.0)]
    [InlineData(null, 0.5)]
    public void Unusable_arguments_are_refused_when_the_endpoint_is_declared(string[]? acr, double? maxAgeSeconds)
    {
        var app = WebApplication.CreateSlimBuilder().Build();
        var endpoint = app.MapGet("/x", () => "x");

        Assert.Throws<ArgumentException>(() => endpoint.RequireStepUp(acr, maxAgeSeconds is { } s ? TimeSpan.FromSeconds(s) : null));
    }
}
