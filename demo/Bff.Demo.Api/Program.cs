using Bff.Demo;
using Bff.Demo.Api;

var builder = WebApplication.CreateBuilder(args);
if (ProductionGuard.RefusesToStart(builder.Environment, "Bff.Demo.Api"))
{
    return ProductionGuard.ExitCode;
}

builder.Services.AddDemoBearerAuthentication();

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapGet("/health", () => TypedResults.Ok("ok")).ExcludeFromDescription();
app.MapWhoAmI();
app.Run();
return 0;
