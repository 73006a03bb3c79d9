using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Options;

namespace Bff.Redis;

/// <summary>
/// Keeps the Data Protection key ring in Redis, so a cookie, a sign-in's state and correlation cookies, and a session
/// payload protected by one replica are read by every other, including replicas that start later.
/// </summary>
internal sealed class RedisKeyRingSetup(IServiceProvider services) : IConfigureOptions<KeyManagementOptions>
{
    public void Configure(KeyManagementOptions options)
    {
        if (RedisSessionsExtensions.InUse(services))
        {
            var connection = services.GetRequiredService<RedisConnection>();
            options.XmlRepository = new RedisXmlRepository(connection.GetDatabase, connection.Keys.DataProtectionKeys);
        }
    }
}
