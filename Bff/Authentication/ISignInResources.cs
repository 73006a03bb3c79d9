namespace Bff.Authentication;

/// <summary>
/// The resource indicators (RFC 8707) a sign-in names in its authorization request, one <c>resource</c> parameter
/// each. Providers that enforce RFC 8707 grant a resource at refresh only when the authorization request named it, so
/// every audience the gateway later asks for with the refresh token is named here, up front.
/// </summary>
internal interface ISignInResources
{
    /// <summary>The distinct absolute URIs to name, read at the time of the sign-in; empty when there are none.</summary>
    IReadOnlyList<string> Current();
}

/// <summary>No resource indicators: a gateway without proxied routes.</summary>
internal sealed class NoSignInResources : ISignInResources
{
    public IReadOnlyList<string> Current() => [];
}
