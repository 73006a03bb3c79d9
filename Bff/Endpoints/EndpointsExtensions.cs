namespace Bff.Endpoints;

internal static class EndpointsExtensions
{
    /// <summary>What the endpoints need beyond the features they call.</summary>
    public static IServiceCollection AddBffEndpoints(this IServiceCollection services)
    {
        services.AddSingleton<CrossSiteRefusals>();
        return services;
    }

    /// <summary><c>/bff/login</c>, <c>/bff/logout</c>, <c>/bff/user</c>, <c>/bff/events</c> and <c>/bff/backchannel</c>.</summary>
    public static IEndpointRouteBuilder MapBffEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(LoginEndpoint.Path, LoginEndpoint.HandleAsync);
        endpoints.MapGet(LogoutEndpoint.Path, LogoutEndpoint.HandleAsync);
        endpoints.MapGet(UserEndpoint.Path, UserEndpoint.HandleAsync);
        endpoints.MapGet(EventsEndpoint.Path, EventsEndpoint.HandleAsync);
        endpoints.MapPost(BackchannelLogoutEndpoint.Path, BackchannelLogoutEndpoint.HandleAsync);
        return endpoints;
    }
}
