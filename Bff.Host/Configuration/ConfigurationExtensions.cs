using Microsoft.Extensions.Options;

namespace Bff.Configuration;

internal static class ConfigurationExtensions
{
    /// <summary>Binds the <c>Bff</c> section and validates it when the host starts, not at the first request.</summary>
    public static IServiceCollection AddBffOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BffOptions>()
            .Bind(configuration.GetSection(BffOptions.SectionName))
            .PostConfigure(options => AddListWrittenAsOneValue(configuration, options.ForwardedHeaders))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<BffOptions>, BffOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>
    /// The binder ignores a list written as one value (<c>Bff__ForwardedHeaders__KnownNetworks=10.0.0.0/8,fd00::/8</c>);
    /// silently trusting no proxy would then break sign-in behind the ingress, so that form is accepted too.
    /// </summary>
    private static void AddListWrittenAsOneValue(IConfiguration configuration, ForwardedHeadersSettings settings)
    {
        var section = configuration.GetSection(BffOptions.SectionName).GetSection("ForwardedHeaders");
        if (section[nameof(ForwardedHeadersSettings.KnownProxies)] is { Length: > 0 } proxies)
        {
            settings.KnownProxies.Add(proxies);
        }

        if (section[nameof(ForwardedHeadersSettings.KnownNetworks)] is { Length: > 0 } networks)
        {
            settings.KnownNetworks.Add(networks);
        }
    }
}
