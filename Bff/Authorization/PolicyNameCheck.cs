using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Bff.Authorization;

/// <summary>
/// Stops start-up when an endpoint names an authorization policy nobody defined
/// (<c>RequireAuthorization("opps")</c>, <c>[Authorize(Policy = "opps")]</c>): left alone, ASP.NET Core finds out at
/// the endpoint's first request and answers it with a 500. YARP checks its routes' <c>AuthorizationPolicy</c> itself.
/// Runs once the host has started (<see cref="IHostedLifecycleService.StartedAsync"/>): the web host builds the
/// request pipeline, which collects the application's endpoints, in its own start.
/// </summary>
internal sealed class PolicyNameCheck(IServiceProvider services) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        // Resolved only now: the policy provider reads the settings (configured policies), which must not be read before
        // start-up validation has reported every refused setting at once.
        var endpoints = services.GetRequiredService<EndpointDataSource>();
        var policies = services.GetRequiredService<IAuthorizationPolicyProvider>();
        var failures = new List<string>();
        foreach (var endpoint in endpoints.Endpoints)
        {
            foreach (var data in endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>())
            {
                if (!string.IsNullOrEmpty(data.Policy) && await policies.GetPolicyAsync(data.Policy) is null)
                {
                    failures.Add($"The endpoint '{endpoint.DisplayName}' requires the authorization policy '{data.Policy}', which is not defined: define it in code or under Bff:Authorization:Policies:{data.Policy}.");
                }
            }
        }

        if (failures.Count > 0)
        {
            // The same exception as a refused setting, so BffStartup.Run reports it as one (one line per problem).
            throw new OptionsValidationException("Bff:Authorization", typeof(AuthorizationOptions), failures.Distinct(StringComparer.Ordinal));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
