namespace Bff.Errors;

/// <summary>
/// Recognises an exception caused by a dependency being down (a shared store reached through a library, such as the
/// Data Protection key ring in Redis), so the last-resort answer is <c>503 session_store_unavailable</c> with
/// <c>Retry-After</c> instead of a 500. Implemented by the feature that owns the dependency, so this folder needs to
/// know none of them.
/// </summary>
internal interface IDependencyOutage
{
    bool CausedBy(Exception? exception);
}
