using Bff.Tests.Browser;

namespace Bff.Tests.Spa;

/// <summary>The published gateway pointed at a SPA folder that is not there: it must refuse to start and say which key to fix.</summary>
public sealed class SpaStartupTests
{
    [Fact]
    public async Task The_gateway_process_refuses_a_SPA_root_that_does_not_exist()
    {
        var missing = Path.Combine(Path.GetTempPath(), "bff-spa-not-built-" + Guid.NewGuid().ToString("N"));
        var dll = Path.Combine(DemoComposition.RepositoryRoot, "Bff.Host", "bin", DemoComposition.BuildConfiguration, "net10.0", "Bff.Host.dll");
        var log = Path.Combine(Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts", "spa")).FullName, "missing-root.log");
        await using var gateway = DemoProcess.Start(
            "gateway",
            dll,
            [
                "--urls", "http://127.0.0.1:0",
                "--Bff:Authority=http://127.0.0.1:9/",
                "--Bff:ClientId=bff",
                "--Bff:ClientSecret=not-used-in-this-test",
                "--Bff:RequireHttpsMetadata=false",
                "--Bff:PublicOrigin=https://app.example.com",
                $"--Bff:Spa:RootPath={missing}",
            ],
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" },
            log);

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        Assert.Contains("Bff:Spa:RootPath", gateway.Output, StringComparison.Ordinal);
        Assert.Contains(missing, gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal);
    }
}
