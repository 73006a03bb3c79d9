namespace Bff.Endpoints;

internal static class EndpointsExtensions
{
    /// <summary><c>/bff/login</c>, <c>/bff/logout</c>, <c>/bff/user</c>, <c>/bff/backchannel</c> and <c>/bff/jwks</c>.</summary>
    public static IEndpointRouteBuilder MapBffEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(LoginEndpoint.Path, LoginEndpoint.HandleAsync);
        endpoints.MapGet(LogoutEndpoint.Path, LogoutEndpoint.HandleAsync);
        endpoints.MapGet(UserEndpoint.Path, UserEndpoint.HandleAsync);
        endpoints.MapPost(BackchannelLogoutEndpoint.Path, BackchannelLogoutEndpoint.HandleAsync);
        endpoints.MapGet(JwksEndpoint.Path, JwksEndpoint.HandleAsync);
        return endpoints;
    }
}
