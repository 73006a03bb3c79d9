using Bff.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Options;

namespace Bff.Redis;

/// <summary>
/// With sessions in Redis the gateway runs as several replicas, which only works if they share the key ring and the
/// application name: anything else is refused at start-up rather than found out as failed sign-ins.
/// </summary>
internal sealed class SharedKeyRingValidator(IServiceProvider services, IOptions<DataProtectionOptions> dataProtection) : IValidateOptions<KeyManagementOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyManagementOptions options)
    {
        if (!RedisSessionsExtensions.InUse(services))
        {
            return ValidateOptionsResult.Skip;
        }

        var failures = new List<string>();
        if (options.XmlRepository is not RedisXmlRepository)
        {
            var actual = options.XmlRepository?.GetType().Name ?? "this machine's default key folder";
            failures.Add($"Bff:Session:Store=Redis needs the Data Protection key ring shared through Redis (Bff:Redis:Configuration), but it is kept in {actual}: cookies and sign-ins started on one replica would fail on another. Remove the custom key storage, or run one replica with Bff:Session:Store=InMemory.");
        }

        if (!string.Equals(dataProtection.Value.ApplicationDiscriminator, AuthenticationExtensions.DataProtectionApplicationName, StringComparison.Ordinal))
        {
            failures.Add($"Bff:Session:Store=Redis needs every replica to use the Data Protection application name '{AuthenticationExtensions.DataProtectionApplicationName}'; it is '{dataProtection.Value.ApplicationDiscriminator}'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
