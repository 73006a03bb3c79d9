using Bff.Authentication;
using Bff.Configuration;
using Bff.Endpoints;
using Bff.Observability;
using Bff.Proxy;
using Bff.Sessions;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddBffOptions(builder.Configuration);
builder.Services.AddBffSessions(builder.Configuration);
builder.Services.AddBffAuthentication();
builder.Services.AddProblemDetails();
builder.AddBffObservability();
builder.Services.AddBffProxy(builder.Configuration);

var app = builder.Build();

app.UseBffForwardedHeaders();
app.UseBffSecurityHeaders();
app.UseBffErrorHandling();
app.UseBffResponseHeaders();
app.UseBffOperationTracing();
app.UseAuthentication();
app.MapBffEndpoints();
app.MapBffHealth();
app.MapBffProxy();

return BffHost.Run(app);

/// <summary>Entry point marker for the test host.</summary>
public partial class Program;
