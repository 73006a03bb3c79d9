using Bff.Spa;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;

namespace Bff.Tests.Spa;

/// <summary>Where the SPA root comes from, and the start-up validation that stops a gateway pointed at nothing.</summary>
public sealed class SpaOptionsTests : IDisposable
{
    private readonly string _contentRoot = Directory.CreateTempSubdirectory("bff-content-").FullName;

    public void Dispose() => Directory.Delete(_contentRoot, recursive: true);

    [Fact]
    public void Without_a_setting_or_a_wwwroot_no_SPA_is_served()
    {
        var options = Resolve(rootPath: null);

        Assert.Null(options.ResolvedRoot);
    }

    [Fact]
    public void Without_a_setting_wwwroot_under_the_content_root_is_served_when_it_exists()
    {
        var wwwroot = Directory.CreateDirectory(Path.Combine(_contentRoot, "wwwroot")).FullName;

        var options = Resolve(rootPath: null);

        Assert.Equal(wwwroot, options.ResolvedRoot);
    }

    [Fact]
    public void A_relative_setting_is_resolved_against_the_content_root()
    {
        var dist = Directory.CreateDirectory(Path.Combine(_contentRoot, "spa", "dist")).FullName;
        File.WriteAllText(Path.Combine(dist, "index.html"), "<!doctype html>");

        var options = Resolve(rootPath: Path.Combine("spa", "dist"));

        Assert.Equal(dist, options.ResolvedRoot);
    }

    [Fact]
    public void A_setting_that_points_nowhere_fails_validation_naming_the_key()
    {
        var missing = Path.Combine(_contentRoot, "not-built-yet");

        var error = Assert.Throws<OptionsValidationException>(() => Resolve(missing));

        var failure = Assert.Single(error.Failures);
        Assert.Contains("Bff:Spa:RootPath", failure, StringComparison.Ordinal);
        Assert.Contains(missing, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_setting_that_points_at_a_folder_without_index_html_fails_validation()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_contentRoot, "empty")).FullName;

        var error = Assert.Throws<OptionsValidationException>(() => Resolve(empty));

        var failure = Assert.Single(error.Failures);
        Assert.Contains("Bff:Spa:RootPath", failure, StringComparison.Ordinal);
        Assert.Contains("index.html", failure, StringComparison.Ordinal);
    }

    private SpaOptions Resolve(string? rootPath)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Bff:Spa:RootPath"] = rootPath })
            .Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<IHostEnvironment>(new HostingEnvironment
            {
                ContentRootPath = _contentRoot,
                ContentRootFileProvider = new NullFileProvider(),
                EnvironmentName = Environments.Production,
            });
        services.AddBffSpa();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<SpaOptions>>().Value;
    }
}
