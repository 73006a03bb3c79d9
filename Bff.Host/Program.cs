using Bff.Authentication;
using Bff.Configuration;
using Bff.Endpoints;
using Bff.Proxy;
using Bff.Sessions;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddBffOptions(builder.Configuration);
builder.Services.AddBffSessions(builder.Configuration);
builder.Services.AddBffAuthentication();
builder.Services.AddProblemDetails();
builder.Services.AddBffProxy(builder.Configuration);

var app = builder.Build();

app.UseBffErrorHandling();
app.UseBffResponseHeaders();
app.UseAuthentication();
app.MapBffEndpoints();
app.MapBffProxy();

return BffHost.Run(app);

/// <summary>Entry point marker for the test host.</summary>
public partial class Program;
