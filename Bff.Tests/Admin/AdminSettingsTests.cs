using Bff.Configuration;

namespace Bff.Tests.Admin;

/// <summary>The admin API's settings are refused at start-up, naming the key, when they could not work or would be unsafe.</summary>
public sealed class AdminSettingsTests
{
    [Fact]
    public void Turning_the_admin_API_on_without_a_port_an_audience_and_a_role_or_scope_is_refused()
    {
        var failures = Failures(admin => admin.Enabled = true);

        Assert.Contains(failures, f => f.StartsWith("Bff:Admin:Enabled is true, but Bff:Admin:Port is not set", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Bff:Admin:Enabled is true, but Bff:Admin:Audience is not set", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Bff:Admin:Enabled is true, but neither Bff:Admin:Role nor Bff:Admin:Scope", StringComparison.Ordinal));
    }

    [Fact]
    public void The_client_id_as_audience_a_port_out_of_range_and_a_role_with_spaces_are_refused()
    {
        var failures = Failures(admin =>
        {
            admin.Enabled = true;
            admin.Port = 70000;
            admin.Audience = "bff";
            admin.Role = "session admin";
        });

        Assert.Contains(failures, f => f.StartsWith("Bff:Admin:Port must be a TCP port between 1 and 65535", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Bff:Admin:Audience must not be Bff:ClientId", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Bff:Admin:Role must be one role or scope name", StringComparison.Ordinal));
    }

    [Fact]
    public void Off_by_default_and_a_complete_configuration_is_accepted()
    {
        Assert.False(new BffOptions().Admin.Enabled);
        Assert.DoesNotContain(Failures(admin =>
        {
            admin.Enabled = true;
            admin.Port = 9090;
            admin.Audience = "bff-admin";
            admin.Scope = "sessions.admin";
        }), f => f.StartsWith("Bff:Admin", StringComparison.Ordinal));
    }

    private static IReadOnlyList<string> Failures(Action<AdminSettings> configure)
    {
        var options = new BffOptions { Authority = "https://idp.example.com", ClientId = "bff", ClientSecret = "secret" };
        configure(options.Admin);
        var environment = new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = "Production" };
        return [.. new BffOptionsValidator(environment).Validate(null, options).Failures ?? []];
    }
}
