using Bff.Observability;

namespace Bff.Errors;

internal static class ErrorTracing
{
    /// <summary>Records that this request's gateway operation failed with <paramref name="error"/> (its code, never a message).</summary>
    public static void SetBffFailure(this HttpContext context, BffError error) => context.SetBffFailureCode(error.Code);
}
