using Bff.Configuration;

namespace Bff;

/// <summary>Runs an application that hosts the gateway, refusing a configuration that cannot work cleanly.</summary>
public static class BffStartup
{
    /// <summary>
    /// Builds and runs the application. A configuration the gateway refuses stops the process before it serves anything,
    /// with one line per problem on standard error (each naming the key to fix) and exit code 1, instead of a stack trace.
    /// </summary>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="configureServices">Adds services, for example <c>builder =&gt; builder.AddBff()</c>.</param>
    /// <param name="configurePipeline">Adds middleware and endpoints, for example <c>app.UseBff()</c> and <c>app.MapBff()</c>.</param>
    /// <returns>The process's exit code: 0 after a normal shutdown, 1 for a refused configuration.</returns>
    public static int Run(string[] args, Action<WebApplicationBuilder> configureServices, Action<WebApplication> configurePipeline) =>
        BffHost.Run(args, configureServices, configurePipeline);
}
