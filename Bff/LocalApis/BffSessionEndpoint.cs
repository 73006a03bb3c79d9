namespace Bff.LocalApis;

/// <summary>
/// Endpoint metadata of a <c>RequireBffSession</c> endpoint, so that the steps before the endpoint runs (the
/// authorization of its policies) know it takes the session's user and the anti-forgery rule.
/// </summary>
internal sealed class BffSessionEndpoint
{
    public static readonly BffSessionEndpoint Instance = new();
}
