namespace Bff.Endpoints;

internal static class EndpointsExtensions
{
    /// <summary><c>/bff/login</c>, <c>/bff/logout</c>, <c>/bff/user</c>, <c>/bff/sessions</c> and <c>/bff/backchannel</c>.</summary>
    public static IEndpointRouteBuilder MapBffEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(LoginEndpoint.Path, LoginEndpoint.HandleAsync);
        endpoints.MapGet(LogoutEndpoint.Path, LogoutEndpoint.HandleAsync);
        endpoints.MapGet(UserEndpoint.Path, UserEndpoint.HandleAsync);
        endpoints.MapGet(SessionsEndpoint.Path, SessionsEndpoint.ListAsync);
        endpoints.MapDelete(SessionsEndpoint.Path, SessionsEndpoint.EndOthersAsync);
        endpoints.MapDelete(SessionsEndpoint.Path + "/{handle}", SessionsEndpoint.EndOneAsync);
        endpoints.MapPost(BackchannelLogoutEndpoint.Path, BackchannelLogoutEndpoint.HandleAsync);
        return endpoints;
    }
}
