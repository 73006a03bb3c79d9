using Bff.LocalApis;
using Bff.Tests.LocalApis;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Bff.Tests.Authorization;

/// <summary>A local endpoint that names a policy nobody defined stops start-up, naming the endpoint and the policy.</summary>
public sealed class PolicyNameCheckTests
{
    [Fact]
    public async Task An_endpoint_requiring_an_undefined_policy_stops_start_up_naming_both()
    {
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => LocalApiTestHost.StartAsync(
            services => services.AddAuthorizationBuilder().AddPolicy("ops", policy => policy.RequireClaim("groups", "ops")),
            app =>
            {
                app.MapPost("/local/admin", () => Results.Ok()).RequireBffSession().RequireAuthorization("opps");
                app.MapGet("/local/reports", [Authorize(Policy = "auditors")] () => Results.Ok()).RequireBffSession();
                app.MapGet("/local/fine", () => Results.Ok()).RequireBffSession().RequireAuthorization("ops");
            }));

        Assert.Equal(2, refused.Failures.Count());
        Assert.Contains(refused.Failures, f => f.Contains("/local/admin", StringComparison.Ordinal) && f.Contains("'opps'", StringComparison.Ordinal));
        Assert.Contains(refused.Failures, f => f.Contains("/local/reports", StringComparison.Ordinal) && f.Contains("'auditors'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_policy_defined_in_configuration_counts_as_defined()
    {
        await using var host = await LocalApiTestHost.StartAsync(
            endpoints: app => app.MapGet("/local/ops", () => Results.Ok()).RequireBffSession().RequireAuthorization("ops"),
            extraSettings: new Dictionary<string, string?> { ["Bff:Authorization:Policies:ops:RequireRole:0"] = "ops" });

        Assert.NotNull(host);
    }
}
