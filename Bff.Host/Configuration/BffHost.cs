using Microsoft.Extensions.Options;

namespace Bff.Configuration;

internal static class BffHost
{
    /// <summary>
    /// Runs the gateway; a configuration it refuses stops the process with one clear message per problem and exit code 1,
    /// instead of a stack trace.
    /// </summary>
    public static int Run(WebApplication app)
    {
        try
        {
            app.Run();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine("The gateway's configuration is not usable:");
            foreach (var failure in ex.Failures)
            {
                Console.Error.WriteLine("  - " + failure);
            }

            return 1;
        }
    }
}
