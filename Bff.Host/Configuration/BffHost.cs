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
            return Refuse([ex]);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
        {
            // Several option types failed validation at start-up (for example Bff and the OTEL_* settings).
            return Refuse(ex.InnerExceptions.Cast<OptionsValidationException>());
        }
    }

    private static int Refuse(IEnumerable<OptionsValidationException> exceptions)
    {
        Console.Error.WriteLine("The gateway's configuration is not usable:");
        // Distinct: options that depend on Bff options (the Redis key ring) repeat their failures.
        foreach (var failure in exceptions.SelectMany(e => e.Failures).Distinct(StringComparer.Ordinal))
        {
            Console.Error.WriteLine("  - " + failure);
        }

        return 1;
    }
}
