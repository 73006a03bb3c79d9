using Bff.Authentication;
using Bff.Configuration;
using Bff.Redis;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;

namespace Bff.Tests.Redis;

/// <summary>A multi-replica configuration that cannot work stops the gateway at start-up, with a message naming the setting.</summary>
public sealed class RedisConfigurationTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();

    public void Dispose() => _idp.Dispose();

    [Fact]
    public async Task Redis_sessions_without_a_connection_string_are_refused()
    {
        var failures = await StartupFailuresAsync(new Dictionary<string, string?> { ["Bff:Session:Store"] = "Redis" });

        Assert.Contains(failures, f => f.StartsWith("Bff:Session:Store is Redis, but Bff:Redis:Configuration is empty", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_connection_string_that_does_not_parse_is_refused_without_echoing_it()
    {
        var failures = await StartupFailuresAsync(new Dictionary<string, string?>
        {
            ["Bff:Session:Store"] = "Redis",
            ["Bff:Redis:Configuration"] = "redis:6379,password=s3cret-value,connectTimeout=soon",
        });

        var message = Assert.Single(failures, f => f.StartsWith("Bff:Redis:Configuration", StringComparison.Ordinal));
        Assert.DoesNotContain("s3cret-value", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redis_sessions_with_a_key_ring_that_is_not_shared_are_refused()
    {
        var keys = Directory.CreateTempSubdirectory("bff-keys-");
        try
        {
            var failures = await StartupFailuresAsync(
                new Dictionary<string, string?>
                {
                    ["Bff:Session:Store"] = "Redis",
                    ["Bff:Redis:Configuration"] = "127.0.0.1:1",
                },
                services => services.AddDataProtection().PersistKeysToFileSystem(keys));

            Assert.Contains(failures, f => f.Contains("Bff:Session:Store=Redis needs the Data Protection key ring shared through Redis (Bff:Redis:Configuration)", StringComparison.Ordinal));
        }
        finally
        {
            keys.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Redis_timeouts_that_would_let_requests_hang_are_refused()
    {
        var failures = await StartupFailuresAsync(new Dictionary<string, string?>
        {
            ["Bff:Session:Store"] = "Redis",
            ["Bff:Redis:Configuration"] = "127.0.0.1:1",
            ["Bff:Redis:OperationTimeout"] = "00:05:00",
        });

        Assert.Contains(failures, f => f.StartsWith("Bff:Redis:OperationTimeout", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("bff{:", false)]
    [InlineData("{}bff:", false)]
    [InlineData("bff:", true)]
    [InlineData("{bff}:", true)]
    [InlineData("bff}:", true)]
    public async Task A_key_prefix_that_would_split_a_sessions_keys_over_cluster_slots_is_refused(string prefix, bool accepted)
    {
        var failures = await StartupFailuresAsync(new Dictionary<string, string?>
        {
            ["Bff:Session:Store"] = "Redis",
            ["Bff:Redis:Configuration"] = "127.0.0.1:1",
            ["Bff:Redis:KeyPrefix"] = prefix,
            // Always one refusal to report (the helper expects the host to be refused).
            ["Bff:Redis:OperationTimeout"] = "00:05:00",
        });

        Assert.Equal(!accepted, failures.Any(f => f.StartsWith("Bff:Redis:KeyPrefix has a '{'", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Sentinel_and_cluster_connection_strings_are_accepted()
    {
        foreach (var configuration in new[] { "sentinel-0:26379,sentinel-1:26379,serviceName=mymaster", "node-0:6379,node-1:6379,node-2:6379,ssl=true" })
        {
            var failures = await StartupFailuresAsync(new Dictionary<string, string?>
            {
                ["Bff:Session:Store"] = "Redis",
                ["Bff:Redis:Configuration"] = configuration,
                ["Bff:Redis:OperationTimeout"] = "00:05:00",
            });

            Assert.DoesNotContain(failures, f => f.StartsWith("Bff:Redis:Configuration", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Composes the gateway's services as Program.cs does and reads the options the host validates at start-up.
    /// (Without a host: a WebApplicationFactory whose host fails to start reports the failure unreliably.)
    /// </summary>
    private async Task<IReadOnlyList<string>> StartupFailuresAsync(Dictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Bff:Authority"] = _idp.Authority,
                ["Bff:ClientId"] = TestIdentityProvider.ClientId,
                ["Bff:ClientSecret"] = TestIdentityProvider.ClientSecret,
                ["Bff:RequireHttpsMetadata"] = "false",
                ["Bff:PublicOrigin"] = "https://app.example.com",
            })
            .AddInMemoryCollection(settings)
            .Build();
        var collection = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = Environments.Production, ApplicationName = "Bff.Host" });
        collection.AddBffOptions(configuration);
        collection.AddBffSessions();
        collection.AddBffRedisSessions();
        collection.AddBffAuthentication();
        services?.Invoke(collection);
        await using var provider = collection.BuildServiceProvider();

        var failures = new List<string>();
        foreach (var read in new Action[]
                 {
                     () => _ = provider.GetRequiredService<IOptions<BffOptions>>().Value,
                     () => _ = provider.GetRequiredService<IOptions<KeyManagementOptions>>().Value,
                 })
        {
            try
            {
                read();
            }
            catch (OptionsValidationException ex)
            {
                failures.AddRange(ex.Failures);
            }
        }

        Assert.NotEmpty(failures);
        return [.. failures.Distinct(StringComparer.Ordinal)];
    }
}
