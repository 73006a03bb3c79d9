using Microsoft.Extensions.Options;

namespace Bff.Configuration;

internal static class ConfigurationExtensions
{
    /// <summary>
    /// Binds the <c>Bff</c> section and validates it when the host starts, not at the first request. A key that is not a
    /// setting, or a value that does not read as its setting's type, is refused naming the key (<see cref="SettingsShape"/>).
    /// </summary>
    public static IServiceCollection AddBffOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BffOptions>()
            .Configure(options => SettingsBinding.Bind(configuration.GetSection(BffOptions.SectionName), BffOptions.SectionName, options))
            .ValidateOnStart();
        // First: a refused key is the first thing to fix, and explains a "required" line that follows from it.
        services.AddSingleton<IValidateOptions<BffOptions>>(sp => new SettingsShapeValidator(configuration, sp.GetServices<BffSettingsSection>()));
        services.AddSingleton<IValidateOptions<BffOptions>, BffOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        return services;
    }
}
