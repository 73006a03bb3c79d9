using Microsoft.Extensions.Options;

namespace Bff.Configuration;

internal static class BffHost
{
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>
    /// Composes and runs the gateway. A configuration it refuses stops the process with one clear message per problem
    /// and exit code 1, instead of a stack trace, whether the refusal surfaces while the pipeline is composed (YARP
    /// builds its pipeline when routes are mapped) or when the host starts.
    /// </summary>
    public static int Run(string[] args, Action<WebApplicationBuilder> addServices, Action<WebApplication> usePipeline)
    {
        try
        {
            var builder = WebApplication.CreateBuilder(args);
            // A refused configuration is reported below, once, as the list of settings to fix; the host's own entry for
            // it ("Hosting failed to start", Error, with the validation's stack trace) would only bury that list. The
            // host's Critical entries (a background service that stopped it) still pass; another start-up failure
            // surfaces as the process's unhandled exception.
            builder.Logging.AddFilter(HostCategory, LogLevel.Critical);
            addServices(builder);
            var app = builder.Build();
            usePipeline(app);
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
