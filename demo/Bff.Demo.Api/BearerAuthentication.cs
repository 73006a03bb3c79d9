using Bff.Demo;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Bff.Demo.Api;

internal static class BearerAuthentication
{
    private const string DPoPSchemeItem = "demo.dpop.scheme";
    private const string DPoPFailureItem = "demo.dpop.failure";

    /// <summary>JwtBearer against the demo provider: signature from its JWKS, issuer, audience, lifetime and scope.</summary>
    public static IServiceCollection AddDemoBearerAuthentication(this IServiceCollection services)
    {
        services.AddOptions<DemoApiOptions>().BindConfiguration(DemoApiOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DemoApiOptions>, DemoApiOptionsValidator>();
        services.AddProblemDetails();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new DPoPProofValidator(
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<DemoApiOptions>>().Value.DPoP.RequireNonce ? new DPoPNonceSource(sp.GetRequiredService<TimeProvider>()) : null));

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
                // RFC 9449 §7.1: a DPoP-bound token comes as "Authorization: DPoP <token>" (JwtBearer itself reads Bearer only).
                OnMessageReceived = context =>
                {
                    var authorization = context.Request.Headers.Authorization.ToString();
                    if (authorization.StartsWith("DPoP ", StringComparison.OrdinalIgnoreCase))
                    {
                        context.Token = authorization[5..].Trim();
                        context.HttpContext.Items[DPoPSchemeItem] = true;
                    }

                    return Task.CompletedTask;
                },
                OnTokenValidated = CheckProofOfPossession,
                OnChallenge = context =>
                {
                    context.HandleResponse();
                    if (context.HttpContext.Items[DPoPFailureItem] is DPoPCheck failure)
                    {
                        return WriteDPoPChallenge(context.HttpContext, failure);
                    }

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

    /// <summary>
    /// RFC 9449 §7: a token bound to a key (<c>cnf.jkt</c>) is accepted only as <c>DPoP</c> with a valid proof of that key
    /// for this request (<c>htm</c>, <c>htu</c>, <c>ath</c>, fresh <c>jti</c>, the nonce when asked); an unbound token only as Bearer.
    /// </summary>
    private static async Task CheckProofOfPossession(TokenValidatedContext context)
    {
        var http = context.HttpContext;
        var bound = DPoPProofValidator.BoundThumbprint(context.Principal?.FindFirst("cnf")?.Value);
        var usedDPoP = http.Items.ContainsKey(DPoPSchemeItem);
        if (bound is null && !usedDPoP)
        {
            return;
        }

        DPoPCheck check;
        if (bound is null)
        {
            check = new DPoPCheck(null, "invalid_token", "The access token is not DPoP-bound; send it as Bearer.");
        }
        else if (!usedDPoP)
        {
            check = new DPoPCheck(null, "invalid_token", "The access token is DPoP-bound; send it with the DPoP scheme and a proof.");
        }
        else
        {
            var token = http.Request.Headers.Authorization.ToString()[5..].Trim();
            check = await http.RequestServices.GetRequiredService<DPoPProofValidator>().ValidateAsync(http.Request, token);
            if (check.Succeeded && !string.Equals(check.Thumbprint, bound, StringComparison.Ordinal))
            {
                check = DPoPCheck.Invalid("The DPoP proof is signed by another key than the token is bound to.");
            }
        }

        if (!check.Succeeded)
        {
            http.Items[DPoPFailureItem] = check;
            context.Fail(check.Description!);
        }
    }

    private static Task WriteDPoPChallenge(HttpContext http, DPoPCheck failure)
    {
        var validator = http.RequestServices.GetRequiredService<DPoPProofValidator>();
        if (failure.Error == DPoPCheck.UseNonce && validator.Nonces is { } nonces)
        {
            http.Response.Headers[DPoPProofValidator.NonceHeaderName] = nonces.Current;
        }

        http.Response.Headers.WWWAuthenticate =
            $"DPoP error=\"{failure.Error}\", error_description=\"{failure.Description}\", algs=\"{string.Join(' ', DPoPProofValidator.Algorithms)}\"";
        return Results.Problem(
                title: "The DPoP proof or binding was refused.",
                detail: failure.Description,
                statusCode: StatusCodes.Status401Unauthorized,
                extensions: new Dictionary<string, object?> { ["error"] = failure.Error })
            .ExecuteAsync(http);
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
