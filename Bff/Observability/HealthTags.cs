namespace Bff.Observability;

/// <summary>Tags of the gateway's health checks.</summary>
internal static class HealthTags
{
    /// <summary>Tag a health check with this to make <c>/health/ready</c> depend on it: <c>AddCheck("redis", …, tags: [HealthTags.Ready])</c>.</summary>
    public const string Ready = "ready";
}
