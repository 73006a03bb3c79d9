using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Bff.Errors;

/// <summary>Turns a <see cref="BffError"/> into an RFC 9457 Problem Details response.</summary>
internal static class BffProblem
{
    public const string ErrorMember = "error";

    public static ProblemHttpResult Result(BffError error, string? detail = null) =>
        TypedResults.Problem(Create(error, detail));

    public static ProblemDetails Create(BffError error, string? detail = null) => new()
    {
        Type = error.Type,
        Title = error.Title,
        Status = error.Status,
        Detail = detail,
        Extensions = { [ErrorMember] = error.Code },
    };

    /// <summary>
    /// Writes the problem with extension members the client acts on (e.g. <c>loginUrl</c> of <c>step_up_required</c>),
    /// for middleware, with <c>Cache-Control: no-store</c>.
    /// </summary>
    public static Task WriteAsync(HttpContext context, BffError error, IEnumerable<KeyValuePair<string, object?>> extensions, string? detail = null)
    {
        var problem = Create(error, detail);
        foreach (var (name, value) in extensions)
        {
            problem.Extensions[name] = value;
        }

        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Problem(problem).ExecuteAsync(context);
    }

    /// <summary>
    /// Writes the problem straight to the response, for middleware and authentication handlers, with
    /// <paramref name="retryAfter"/> or else the error's own <see cref="BffError.RetryAfter"/>.
    /// </summary>
    public static Task WriteAsync(HttpContext context, BffError error, string? detail = null, TimeSpan? retryAfter = null)
    {
        var response = context.Response;
        if ((retryAfter ?? error.RetryAfter) is { } delay)
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(delay.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        response.Headers.CacheControl = "no-store";
        return Result(error, detail).ExecuteAsync(context);
    }

    /// <summary>A problem that also tells the client when to try again, for endpoints.</summary>
    public static RetryAfterProblem WithRetryAfter(BffError error, TimeSpan retryAfter, string? detail = null) =>
        new(error, retryAfter, detail);

    /// <summary>A problem with the error's own <see cref="BffError.RetryAfter"/>, for endpoints.</summary>
    public static RetryAfterProblem WithRetryAfter(BffError error) => new(error, null, null);
}

/// <summary>A Problem Details response with <c>Retry-After</c> (503s the client should retry).</summary>
internal sealed class RetryAfterProblem(BffError error, TimeSpan? retryAfter, string? detail) : IResult
{
    public BffError Error => error;

    public Task ExecuteAsync(HttpContext httpContext) => BffProblem.WriteAsync(httpContext, error, detail, retryAfter);
}
