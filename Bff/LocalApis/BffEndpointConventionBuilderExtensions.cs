using Bff.LocalApis;

namespace Bff;

/// <summary>Local APIs: endpoints of the host's own that the gateway guards as it guards a proxied route.</summary>
public static class BffEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Guards the endpoints as a proxied route with <c>Bff.Token=User</c> is guarded, before the handler (and its model
    /// binding) runs: a request without <c>X-CSRF: 1</c> is answered 401 <c>csrf_header_missing</c> (a WebSocket upgrade
    /// must instead come from the gateway's own origin, else 403 <c>origin_mismatch</c>); a request without a session 401
    /// <c>unauthenticated</c>; and while the session store is unreachable 503 <c>session_store_unavailable</c>, all as
    /// Problem Details. A session found is slid like a proxied call's, and its claims become <c>HttpContext.User</c>.
    /// Calls to downstream APIs take their token from <see cref="IBffAccessTokens"/>.
    /// <para>
    /// Works on minimal-API endpoints, groups (<c>MapGroup</c>) and controllers (<c>MapControllers()</c>). Authorization
    /// policies (<c>RequireAuthorization("policy")</c>, <c>[Authorize(Policy = …)]</c>) are evaluated on the session's
    /// user after the anti-forgery check and the session lookup: a signed-in user the policy refuses gets 403
    /// <c>forbidden</c> and the handler does not run.
    /// </para>
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoints to guard.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="InvalidOperationException">
    /// When the endpoints are built: one of them has no request delegate to guard (a kind of endpoint the guard cannot wrap).
    /// </exception>
    public static TBuilder RequireBffSession<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(Guard);
        return builder;
    }

    /// <summary>
    /// Requires a stronger or more recent sign-in for the endpoints (step-up), on top of everything
    /// <see cref="RequireBffSession{TBuilder}"/> checks (which it implies): a signed-in user whose sign-in's <c>acr</c> is
    /// not one of <paramref name="acr"/>, or who signed in longer than <paramref name="maxAge"/> ago, is answered 401
    /// <c>step_up_required</c> as Problem Details whose <c>loginUrl</c> member the SPA navigates to
    /// (<c>/bff/login?returnUrl=…&amp;acr_values=…&amp;max_age=…</c>); the handler does not run. Checked after the
    /// anti-forgery check and the session lookup, before authorization policies (a user who only needs a stronger
    /// sign-in is told so rather than refused with 403). Several calls add requirements that must all be met.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoints to guard.</param>
    /// <param name="acr">
    /// Acceptable authentication context class references (the ID token's <c>acr</c>), in the order the provider is
    /// asked for them; null or empty: any.
    /// </param>
    /// <param name="maxAge">The longest time since the user authenticated at the provider (<c>auth_time</c>), in whole seconds; null: any.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException">Neither is given, an acr value is unusable, or <paramref name="maxAge"/> is negative or not whole seconds.</exception>
    public static TBuilder RequireStepUp<TBuilder>(this TBuilder builder, IEnumerable<string>? acr = null, TimeSpan? maxAge = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var acrValues = acr?.ToArray() ?? [];
        if (acrValues.Length == 0 && maxAge is null)
        {
            throw new ArgumentException("RequireStepUp needs acceptable acr values, a maximum age, or both.", nameof(acr));
        }

        if (acrValues.Any(value => !Sessions.StepUpRequirement.IsAcrValue(value)) || acrValues.Distinct(StringComparer.Ordinal).Count() != acrValues.Length
            || string.Join(' ', acrValues).Length > Sessions.StepUpRequirement.MaxAcrValuesLength)
        {
            throw new ArgumentException("Each acr value is visible ASCII without quotes, backslashes, commas or spaces, and is named once.", nameof(acr));
        }

        if (maxAge is { } age && (age < TimeSpan.Zero || age.Ticks % TimeSpan.TicksPerSecond != 0 || age.TotalSeconds > int.MaxValue))
        {
            throw new ArgumentException("The maximum age is a non-negative whole number of seconds.", nameof(maxAge));
        }

        var requirement = new Sessions.StepUpRequirement(acrValues, maxAge is { } seconds ? (int)seconds.TotalSeconds : null);
        builder.Add(endpoint =>
        {
            Guard(endpoint);
            endpoint.Metadata.Add(requirement);
        });
        return builder;
    }

    /// <summary>Wraps the endpoint's delegate in the guard, once, however many conventions ask for it.</summary>
    private static void Guard(EndpointBuilder endpoint)
    {
        if (endpoint.Metadata.Contains(BffSessionEndpoint.Instance))
        {
            return;
        }

        // Fail closed: an endpoint the guard cannot wrap must not be served unguarded.
        var inner = endpoint.RequestDelegate
            ?? throw new InvalidOperationException($"RequireBffSession cannot guard the endpoint '{endpoint.DisplayName}': it has no request delegate.");
        endpoint.Metadata.Add(BffSessionEndpoint.Instance);
        LocalApiGuard? guard = null;
        endpoint.RequestDelegate = context =>
        {
            guard ??= context.RequestServices.GetService<LocalApiGuard>()
                ?? throw new InvalidOperationException("RequireBffSession needs the gateway's services: call builder.AddBff() first.");
            return guard.InvokeAsync(context, inner);
        };
    }
}
