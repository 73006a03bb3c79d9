using Bff;

namespace EmbeddedHost;

/// <summary>
/// A local API: the app's own code, behind the gateway's session, CSRF check and token refresh, calling a downstream
/// API with the signed-in user's access token.
/// </summary>
internal static class OrdersEndpoint
{
    public const string ApiClient = "orders-api";

    public static async Task<IResult> GetAsync(HttpContext context, IBffAccessTokens tokens, IHttpClientFactory http)
    {
        // An expired session or an unreachable provider is a result, answered as the proxy answers it (401, 503).
        var token = await tokens.GetUserAccessTokenAsync(context);
        if (!token.Succeeded)
        {
            return token.ToProblem();
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "api/whoami");
        request.Headers.Authorization = new("Bearer", token.AccessToken);
        using var response = await http.CreateClient(ApiClient).SendAsync(request, context.RequestAborted);
        var caller = await response.Content.ReadAsStringAsync(context.RequestAborted);
        return Results.Json(new
        {
            user = context.User.FindFirst("sub")?.Value,
            apiStatus = (int)response.StatusCode,
            api = caller,
        });
    }
}
