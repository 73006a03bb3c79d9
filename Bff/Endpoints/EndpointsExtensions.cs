namespace Bff.Endpoints;

internal static class EndpointsExtensions
{
    /// <summary><c>/bff/login</c>, <c>/bff/logout</c>, <c>/bff/user</c> and <c>/bff/backchannel</c>.</summary>
    public static IEndpointRouteBuilder MapBffEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(LoginEndpoint.Path, LoginEndpoint.HandleAsync);
        endpoints.MapGet(LogoutEndpoint.Path, LogoutEndpoint.HandleAsync);
        endpoints.MapGet(UserEndpoint.Path, UserEndpoint.HandleAsync);
        endpoints.MapPost(BackchannelLogoutEndpoint.Path, BackchannelLogoutEndpoint.HandleAsync);
        return endpoints;
    }
}
