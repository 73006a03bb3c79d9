using Bff.Demo;
using Bff.Demo.Identity.Account;
using Bff.Demo.Identity.Diagnostics;
using Bff.Demo.Identity.Provider;

var builder = WebApplication.CreateBuilder(args);
if (ProductionGuard.RefusesToStart(builder.Environment, "Bff.Demo.Identity"))
{
    return ProductionGuard.ExitCode;
}

builder.Services.AddDemoProvider();
builder.Services.AddDemoAccounts();

var app = builder.Build();
app.UseAuthentication();
app.MapDemoAccounts();
app.MapDemoConnect();
app.MapDemoStats();
app.Run();
return 0;
