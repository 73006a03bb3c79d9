namespace Bff.Endpoints;

internal static class EndpointsExtensions
{
    /// <summary>What the endpoints need beyond the features they call.</summary>
    public static IServiceCollection AddBffEndpoints(this IServiceCollection services)
    {
        services.AddSingleton<CrossSiteRefusals>();
        return services;
    }

    /// <summary>
    /// <c>/bff/login</c>, <c>/bff/logout</c>, <c>/bff/user</c>, <c>/bff/sessions</c>, <c>/bff/events</c>,
    /// <c>/bff/backchannel</c> and <c>/bff/jwks</c>. Anonymous as far as ASP.NET Core's authorization goes: each checks
    /// the session (or the logout token) itself, and an application's <c>FallbackPolicy</c> must not lock users out of
    /// signing in (nor the provider out of the gateway's public keys).
    /// </summary>
    public static IEndpointRouteBuilder MapBffEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(LoginEndpoint.Path, LoginEndpoint.HandleAsync).AllowAnonymous();
        endpoints.MapGet(LogoutEndpoint.Path, LogoutEndpoint.HandleAsync).AllowAnonymous();
        endpoints.MapGet(UserEndpoint.Path, UserEndpoint.HandleAsync).AllowAnonymous();
        endpoints.MapGet(SessionsEndpoint.Path, SessionsEndpoint.ListAsync).AllowAnonymous();
        endpoints.MapDelete(SessionsEndpoint.Path, SessionsEndpoint.EndOthersAsync).AllowAnonymous();
        endpoints.MapDelete(SessionsEndpoint.Path + "/{handle}", SessionsEndpoint.EndOneAsync).AllowAnonymous();
        endpoints.MapGet(EventsEndpoint.Path, EventsEndpoint.HandleAsync).AllowAnonymous();
        endpoints.MapPost(BackchannelLogoutEndpoint.Path, BackchannelLogoutEndpoint.HandleAsync).AllowAnonymous();
        endpoints.MapGet(JwksEndpoint.Path, JwksEndpoint.HandleAsync).AllowAnonymous();
        return endpoints;
    }
}
