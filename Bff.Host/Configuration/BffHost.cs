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
            return Refuse(ex.Failures);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
        {
            // Several option types failed at start-up (for example the Data Protection key ring, which depends on Bff:Redis).
            return Refuse(ex.InnerExceptions.Cast<OptionsValidationException>().SelectMany(e => e.Failures));
        }
    }

    private static int Refuse(IEnumerable<string> failures)
    {
        Console.Error.WriteLine("The gateway's configuration is not usable:");
        foreach (var failure in failures.Distinct(StringComparer.Ordinal))
        {
            Console.Error.WriteLine("  - " + failure);
        }

        return 1;
    }
}
