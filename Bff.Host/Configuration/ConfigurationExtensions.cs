using Microsoft.Extensions.Options;

namespace Bff.Configuration;

internal static class ConfigurationExtensions
{
    /// <summary>Binds the <c>Bff</c> section and validates it when the host starts, not at the first request.</summary>
    public static IServiceCollection AddBffOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BffOptions>()
            .Bind(configuration.GetSection(BffOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<BffOptions>, BffOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        return services;
    }
}
