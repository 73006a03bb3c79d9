using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Bff.Demo.Api;

internal static class BearerAuthentication
{
    /// <summary>JwtBearer against the demo provider: signature from its JWKS, issuer, audience, lifetime and scope.</summary>
    public static IServiceCollection AddDemoBearerAuthentication(this IServiceCollection services)
    {
        services.AddOptions<DemoApiOptions>().BindConfiguration(DemoApiOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DemoApiOptions>, DemoApiOptionsValidator>();
        services.AddProblemDetails();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<DemoApiOptions>>((jwt, demo) =>
        {
            jwt.Authority = demo.Value.Authority!.AbsoluteUri;
            jwt.Audience = demo.Value.Audience;
            jwt.RequireHttpsMetadata = false; // loopback demo only; validated above
            jwt.MapInboundClaims = false;
            jwt.TokenValidationParameters.NameClaimType = "name";
            // A short skew so an expired token really is refused and the demo shows the gateway refreshing it.
            jwt.TokenValidationParameters.ClockSkew = TimeSpan.FromSeconds(1);
            jwt.Events = new JwtBearerEvents
            {
                OnChallenge = context =>
                {
                    context.HandleResponse();
                    return WriteProblem(context.HttpContext, StatusCodes.Status401Unauthorized, "invalid_token",
                        "A valid bearer token from the demo provider is required.",
                        context.AuthenticateFailure is null ? "No bearer token was sent." : "The bearer token was rejected.");
                },
                OnForbidden = context =>
                    WriteProblem(context.HttpContext, StatusCodes.Status403Forbidden, "insufficient_scope",
                        "The access token lacks the scope this API requires.", null),
            };
        });

        services.AddAuthorizationBuilder().AddPolicy(WhoAmIEndpoints.ScopePolicy, policy => policy
            .RequireAuthenticatedUser()
            .RequireAssertion(context =>
            {
                var required = context.Resource is HttpContext http
                    ? http.RequestServices.GetRequiredService<IOptions<DemoApiOptions>>().Value.RequiredScope
                    : "demo_api";
                return WhoAmIEndpoints.Scopes(context.User).Contains(required, StringComparer.Ordinal);
            }));
        return services;
    }

    private static Task WriteProblem(HttpContext http, int status, string error, string title, string? detail)
    {
        if (status == StatusCodes.Status401Unauthorized)
        {
            http.Response.Headers.WWWAuthenticate = $"Bearer error=\"{error}\"";
        }

        return Results.Problem(
                title: title,
                detail: detail,
                statusCode: status,
                extensions: new Dictionary<string, object?> { ["error"] = error })
            .ExecuteAsync(http);
    }
}
