using System.Text.Encodings.Web;
using Bff.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Bff.Sessions;

internal sealed class SessionAuthenticationOptions : AuthenticationSchemeOptions;

/// <summary>
/// The gateway's own authentication scheme: the session cookie names a server-side session.
/// Challenges answer 401 Problem Details, never a redirect, because its callers are SPAs' fetch calls.
/// </summary>
internal sealed class SessionAuthenticationHandler(
    IOptionsMonitor<SessionAuthenticationOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    SessionResolver resolver,
    ISessionStore store,
    SessionCookie cookie)
    : AuthenticationHandler<SessionAuthenticationOptions>(options, loggerFactory, encoder), IAuthenticationSignOutHandler
{
    public const string SchemeName = "bff-session";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var lookup = await resolver.ResolveAsync(Context);
        return lookup.Status switch
        {
            SessionLookupStatus.Found => AuthenticateResult.Success(
                new AuthenticationTicket(lookup.Session!.Principal, Scheme.Name)),
            SessionLookupStatus.Unavailable => AuthenticateResult.Fail("The session store is unavailable."),
            _ => AuthenticateResult.NoResult(),
        };
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var lookup = await resolver.ResolveAsync(Context);
        if (lookup.Status == SessionLookupStatus.Unavailable)
        {
            await BffProblem.WriteAsync(Context, BffError.SessionStoreUnavailable);
            return;
        }

        await BffProblem.WriteAsync(Context, BffError.Unauthenticated);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        BffProblem.WriteAsync(Context, BffError.Forbidden);

    public async Task SignOutAsync(AuthenticationProperties? properties)
    {
        var lookup = await resolver.ResolveAsync(Context);
        if (lookup.Session is { } session)
        {
            await store.RemoveAsync(session.Key, Context.RequestAborted);
        }

        cookie.Delete(Response);
        SessionResolver.Remember(Context, SessionLookup.NotFound);
    }
}
