using Bff.Authentication;
using Bff.Errors;
using Bff.Provider;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Bff.Endpoints;

/// <summary><c>GET /bff/login?returnUrl=/path</c>: starts the authorization code flow.</summary>
internal static class LoginEndpoint
{
    public const string Path = SignInPaths.Login;

    public static async Task<Results<ChallengeHttpResult, ProblemHttpResult>> HandleAsync(
        string? returnUrl, string? restart, HttpContext context, ProviderMetadata metadata, CancellationToken cancellationToken)
    {
        // Normalised before the flow starts: the target travels in the protected state and is written into Location
        // only after the code is redeemed, when nothing may fail any more.
        if (!ReturnUrl.TryNormalize(returnUrl ?? ReturnUrl.Default, out var target))
        {
            context.SetBffFailure(BffError.InvalidReturnUrl);
            return BffProblem.Result(BffError.InvalidReturnUrl);
        }

        // Fail here, with a clear answer, rather than inside the handler's redirect with a 500.
        var provider = await metadata.GetAsync(cancellationToken);
        if (!provider.Succeeded)
        {
            context.SetBffFailure(provider.Error!);
            return BffProblem.Result(provider.Error!);
        }

        if (!SignInParameters.TryRead(context.Request.Query, provider.Configuration!, out var parameters, out var refused))
        {
            context.SetBffFailure(BffError.InvalidLoginParameter);
            return BffProblem.Result(BffError.InvalidLoginParameter, $"The '{refused}' parameter is malformed, repeated or not supported by the provider.");
        }

        var properties = new AuthenticationProperties { RedirectUri = target };
        parameters.AddTo(properties);
        if (restart == "1")
        {
            properties.Items[OidcEvents.RestartedItem] = "1";
        }

        PendingSignIns.Limit(context);
        return TypedResults.Challenge(properties, [OpenIdConnectDefaults.AuthenticationScheme]);
    }
}
