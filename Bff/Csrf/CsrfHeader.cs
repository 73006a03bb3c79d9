namespace Bff.Csrf;

/// <summary>
/// The anti-forgery rule for cookie-authenticated calls: a custom header that a cross-site page cannot add without a
/// CORS preflight, which the gateway never grants. Simple requests (form posts, plain GETs) therefore fail it.
/// </summary>
internal static class CsrfHeader
{
    public const string Name = "X-CSRF";
    public const string Value = "1";

    public static bool IsPresent(HttpRequest request)
    {
        var values = request.Headers[Name];
        return values.Count == 1 && string.Equals(values[0], Value, StringComparison.Ordinal);
    }
}
