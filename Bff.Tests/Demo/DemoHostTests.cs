using Bff.Tests.Browser;

namespace Bff.Tests.Demo;

/// <summary>The demo apps hold demo users, generated keys and a command-line secret: they must never run as a production service.</summary>
public sealed class DemoHostTests
{
    [Theory]
    [InlineData("demo/Bff.Demo.Identity", "Bff.Demo.Identity.dll")]
    [InlineData("demo/Bff.Demo.Api", "Bff.Demo.Api.dll")]
    public async Task A_demo_app_refuses_to_start_in_Production_with_a_clear_message(string project, string dll)
    {
        var path = Path.Combine(DemoComposition.RepositoryRoot, project, "bin", DemoComposition.BuildConfiguration, "net10.0", dll);
        var log = Path.Combine(Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts", "demo")).FullName, dll + ".production.log");
        await using var app = DemoProcess.Start(
            dll,
            path,
            ["--urls", "http://127.0.0.1:0"],
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" },
            log);

        var exitCode = await app.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("refuses to run in the Production environment", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", app.Output, StringComparison.Ordinal);
    }
}
