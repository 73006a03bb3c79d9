using Microsoft.Extensions.Options;

namespace Bff.Proxy;

/// <summary>
/// YARP validates routes when <c>MapReverseProxy</c> loads them, before the host starts. A refusal is carried into
/// the host's start-up options validation so that the gateway stops like for any other configuration error: exit
/// code 1 and one readable message per problem (see <c>BffHost.Run</c>), not a crash with a stack trace.
/// </summary>
internal sealed class ProxyConfigurationCheck : IValidateOptions<ProxyConfigurationCheck.Result>
{
    private string[] _failures = [];

    public void Refuse(IEnumerable<string> failures) => _failures = [.. failures];

    public ValidateOptionsResult Validate(string? name, Result options) =>
        _failures.Length == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);

    /// <summary>Options type that exists only to be validated on start.</summary>
    internal sealed class Result;
}
