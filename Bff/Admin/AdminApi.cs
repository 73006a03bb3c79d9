using Bff.Configuration;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;
using Microsoft.Extensions.Options;
using static Bff.Observability.TelemetryNames;

namespace Bff.Admin;

/// <summary>One of a user's sessions as the admin API lists it: never a token, the cookie value or the store id.</summary>
internal sealed record AdminSessionView(
    string Handle,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUsedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? AbsoluteExpiresAt,
    string? Device);

internal sealed record AdminSessionsResponse(string Subject, IReadOnlyList<AdminSessionView> Sessions);

internal sealed record AdminEndedResponse(int Ended);

/// <summary>
/// The admin API, answered only on <c>Bff:Admin:Port</c> (see <see cref="AdminExtensions.UseBffAdmin"/>):
/// <list type="bullet">
/// <item><c>GET /bff/admin/sessions?sub=…</c>: the user's sessions.</item>
/// <item><c>DELETE /bff/admin/sessions?sub=…&amp;handle=…[&amp;revoke=true]</c>: ends one of them.</item>
/// <item><c>DELETE /bff/admin/sessions?sub=…[&amp;revoke=true]</c>: ends all of them.</item>
/// <item><c>POST /bff/admin/sessions/end-all?confirm=end-every-session</c>: ends every session of every user.</item>
/// </list>
/// Every call is authenticated by <see cref="AdminTokenValidator"/>, logged with its caller and counted in
/// <c>bff.admin.actions</c>; refusals are Problem Details. Sessions end through <see cref="SessionTermination"/>.
/// </summary>
internal sealed class AdminApi(
    AdminTokenValidator tokens,
    ISessionStore store,
    SessionTermination termination,
    BffMetrics metrics,
    IOptions<BffOptions> options,
    ILogger<AdminApi> logger)
{
    public const string SessionsPath = "/bff/admin/sessions";
    public const string EndEveryPath = "/bff/admin/sessions/end-all";
    public const string Confirmation = "end-every-session";

    /// <summary>A subject is an identifier, not a document.</summary>
    private const int MaxSubjectLength = 1024;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var action = ActionOf(request);
        if (action == AdminActions.Unknown)
        {
            metrics.AdminAction(action, BffError.NotFound.Code);
            await BffProblem.WriteAsync(context, BffError.NotFound);
            return;
        }

        var authentication = await tokens.AuthenticateAsync(request, context.RequestAborted);
        if (authentication.Error is { } refusal)
        {
            AdminLog.Refused(logger, refusal.Code, authentication.Reason!, authentication.Caller?.Identity ?? "-");
            if (refusal == BffError.AdminUnauthenticated)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
            }

            await RefuseAsync(context, action, refusal);
            return;
        }

        var caller = authentication.Caller!.Identity;
        if (action == AdminActions.EndEverySession)
        {
            await EndEveryAsync(context, caller);
            return;
        }

        var subject = request.Query["sub"];
        if (subject.Count != 1 || string.IsNullOrEmpty(subject[0]) || subject[0]!.Length > MaxSubjectLength)
        {
            await RefuseAsync(context, action, BffError.InvalidAdminRequest, "Name the user with exactly one 'sub' parameter.");
            return;
        }

        if (!TryRevoke(request, out var revoke))
        {
            await RefuseAsync(context, action, BffError.InvalidAdminRequest, "'revoke' is true or false.");
            return;
        }

        switch (action)
        {
            case AdminActions.ListSessions:
                await ListAsync(context, caller, subject[0]!);
                break;
            case AdminActions.EndSession:
                await EndOneAsync(context, caller, subject[0]!, request.Query["handle"], revoke);
                break;
            default:
                await EndUserAsync(context, caller, subject[0]!, revoke);
                break;
        }
    }

    private static string ActionOf(HttpRequest request)
    {
        var path = request.Path;
        if (path.Equals(SessionsPath, StringComparison.Ordinal))
        {
            if (HttpMethods.IsGet(request.Method))
            {
                return AdminActions.ListSessions;
            }

            if (HttpMethods.IsDelete(request.Method))
            {
                return request.Query.ContainsKey("handle") ? AdminActions.EndSession : AdminActions.EndUserSessions;
            }
        }
        else if (path.Equals(EndEveryPath, StringComparison.Ordinal) && HttpMethods.IsPost(request.Method))
        {
            return AdminActions.EndEverySession;
        }

        return AdminActions.Unknown;
    }

    private async Task ListAsync(HttpContext context, string caller, string subject)
    {
        var list = await store.ListOfSubjectAsync(subject, context.RequestAborted);
        if (list.Outcome != StoreOutcome.Ok)
        {
            await UnavailableAsync(context, caller, AdminActions.ListSessions);
            return;
        }

        var idle = options.Value.Session.IdleTimeout;
        var views = list.Sessions.Select(s =>
        {
            var lastUsed = s.ExpiresAt - idle;
            return new AdminSessionView(SessionHandle.For(s.Id), s.CreatedAt, lastUsed > s.CreatedAt ? lastUsed : s.CreatedAt, s.ExpiresAt, s.AbsoluteExpiresAt, s.Device);
        }).ToList();
        AdminLog.Acted(logger, caller, AdminActions.ListSessions, SessionKey.LogId(subject), views.Count);
        metrics.AdminAction(AdminActions.ListSessions, Outcomes.Success);
        await TypedResults.Ok(new AdminSessionsResponse(subject, views)).ExecuteAsync(context);
    }

    private async Task EndOneAsync(HttpContext context, string caller, string subject, Microsoft.Extensions.Primitives.StringValues handle, bool revoke)
    {
        if (handle.Count != 1 || !SessionHandle.IsWellFormed(handle[0]))
        {
            await RefuseAsync(context, AdminActions.EndSession, BffError.InvalidAdminRequest, "'handle' is one session handle from the list.");
            return;
        }

        var list = await store.ListOfSubjectAsync(subject, context.RequestAborted);
        if (list.Outcome != StoreOutcome.Ok)
        {
            await UnavailableAsync(context, caller, AdminActions.EndSession);
            return;
        }

        var target = list.Sessions.FirstOrDefault(s => string.Equals(SessionHandle.For(s.Id), handle[0], StringComparison.Ordinal));
        var ended = target is null
            ? new Termination(StoreOutcome.Ok, 0)
            : await termination.EndAsync(subject, SessionSelection.One(target.Id), SessionEndReasons.AdminRevoked, revoke, context.RequestAborted);
        if (ended.Outcome != StoreOutcome.Ok)
        {
            await UnavailableAsync(context, caller, AdminActions.EndSession);
            return;
        }

        if (ended.Ended == 0)
        {
            await RefuseAsync(context, AdminActions.EndSession, BffError.SessionNotFound, "No session of this user has this handle.");
            return;
        }

        AdminLog.Acted(logger, caller, AdminActions.EndSession, SessionKey.LogId(subject), ended.Ended);
        metrics.AdminAction(AdminActions.EndSession, Outcomes.Success);
        await TypedResults.Ok(new AdminEndedResponse(ended.Ended)).ExecuteAsync(context);
    }

    private async Task EndUserAsync(HttpContext context, string caller, string subject, bool revoke)
    {
        var ended = await termination.EndAsync(subject, SessionSelection.All, SessionEndReasons.AdminRevoked, revoke, context.RequestAborted);
        if (ended.Outcome != StoreOutcome.Ok)
        {
            await UnavailableAsync(context, caller, AdminActions.EndUserSessions);
            return;
        }

        AdminLog.Acted(logger, caller, AdminActions.EndUserSessions, SessionKey.LogId(subject), ended.Ended);
        metrics.AdminAction(AdminActions.EndUserSessions, Outcomes.Success);
        await TypedResults.Ok(new AdminEndedResponse(ended.Ended)).ExecuteAsync(context);
    }

    private async Task EndEveryAsync(HttpContext context, string caller)
    {
        var confirm = context.Request.Query["confirm"];
        if (confirm.Count != 1 || !string.Equals(confirm[0], Confirmation, StringComparison.Ordinal))
        {
            await RefuseAsync(context, AdminActions.EndEverySession, BffError.ConfirmationRequired);
            return;
        }

        var ended = await termination.EndEveryAsync(SessionEndReasons.BreakGlass, context.RequestAborted);
        if (ended.Outcome != StoreOutcome.Ok)
        {
            await UnavailableAsync(context, caller, AdminActions.EndEverySession);
            return;
        }

        AdminLog.EndedEverySession(logger, caller, ended.Ended);
        metrics.AdminAction(AdminActions.EndEverySession, Outcomes.Success);
        await TypedResults.Ok(new AdminEndedResponse(ended.Ended)).ExecuteAsync(context);
    }

    private Task RefuseAsync(HttpContext context, string action, BffError error, string? detail = null)
    {
        metrics.AdminAction(action, error.Code);
        return BffProblem.WriteAsync(context, error, detail);
    }

    private Task UnavailableAsync(HttpContext context, string caller, string action)
    {
        AdminLog.StoreUnavailable(logger, caller, action);
        metrics.AdminAction(action, BffError.SessionStoreUnavailable.Code);
        return BffProblem.WriteAsync(context, BffError.SessionStoreUnavailable);
    }

    private static bool TryRevoke(HttpRequest request, out bool revoke)
    {
        var values = request.Query["revoke"];
        revoke = false;
        return values.Count == 0 || (values.Count == 1 && bool.TryParse(values[0], out revoke));
    }
}
