using Bff.Configuration;
using Bff.Redis;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Bff.Tests.Hosting;

/// <summary>
/// What a team embedding the gateway gets from <c>AddBff</c>: the settings it writes in code count as much as
/// configuration, and the features' registrations do not depend on their order.
/// </summary>
public sealed class CompositionTests : IClassFixture<RedisFixture>, IDisposable
{
    private readonly RedisFixture _redis;
    private readonly TestIdentityProvider _idp = new();

    public CompositionTests(RedisFixture redis) => _redis = redis;

    public void Dispose() => _idp.Dispose();

    [Fact]
    public async Task Redis_sessions_chosen_in_code_are_the_sessions_the_gateway_keeps()
    {
        await using var app = Build(configure: options =>
        {
            options.Session.Store = SessionStoreKind.Redis;
            options.Redis.Configuration = _redis.Configuration;
        });

        var store = Assert.IsType<InstrumentedSessionStore>(app.Services.GetRequiredService<ISessionStore>());
        Assert.IsType<RedisSessionStore>(store.Inner);
        Assert.IsType<RedisRefreshLock>(app.Services.GetRequiredService<IRefreshLock>());
        // Replicas share the key ring only if it is in Redis too.
        Assert.IsType<RedisXmlRepository>(app.Services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.XmlRepository);
        Assert.Contains(RedisHealthCheck.Name, HealthChecks(app));
    }

    [Fact]
    public async Task In_memory_sessions_never_touch_redis()
    {
        await using var app = Build(configure: null);

        var store = Assert.IsType<InstrumentedSessionStore>(app.Services.GetRequiredService<ISessionStore>());
        Assert.IsType<InMemorySessionStore>(store.Inner);
        Assert.IsType<InProcessRefreshLock>(app.Services.GetRequiredService<IRefreshLock>());
        Assert.IsNotType<RedisXmlRepository>(app.Services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.XmlRepository);
        Assert.DoesNotContain(RedisHealthCheck.Name, HealthChecks(app));
    }

    private WebApplication Build(Action<BffOptions>? configure)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Bff:Authority"] = _idp.Authority,
            ["Bff:ClientId"] = TestIdentityProvider.ClientId,
            ["Bff:ClientSecret"] = TestIdentityProvider.ClientSecret,
            ["Bff:RequireHttpsMetadata"] = "false",
            ["Bff:PublicOrigin"] = "https://app.example.com",
        });
        builder.AddBff(configure);
        return builder.Build();
    }

    private static string[] HealthChecks(WebApplication app) =>
        [.. app.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Select(r => r.Name)];
}
