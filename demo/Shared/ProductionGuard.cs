namespace Bff.Demo;

/// <summary>
/// Demo hosts exist to show the gateway working on a laptop. They hold demo users, a generated signing key and
/// a secret handed over on the command line, so they must never run as a production service.
/// </summary>
internal static class ProductionGuard
{
    public const int ExitCode = 78; // EX_CONFIG: refused by configuration, not crashed.

    public static bool RefusesToStart(IHostEnvironment environment, string application)
    {
        if (!environment.IsProduction())
        {
            return false;
        }

        Console.Error.WriteLine(
            $"{application} is a demo and refuses to run in the Production environment. " +
            "Set ASPNETCORE_ENVIRONMENT=Development (run-demo.sh does) to use it on your machine; " +
            "for production, point the gateway at a real OpenID provider and a real API.");
        return true;
    }
}
