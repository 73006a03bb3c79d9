using Bff.Authentication;
using Bff.Configuration;
using Bff.Endpoints;
using Bff.Sessions;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddBffOptions(builder.Configuration);
builder.Services.AddBffSessions(builder.Configuration);
builder.Services.AddBffAuthentication();
builder.Services.AddProblemDetails();

var app = builder.Build();

app.UseBffErrorHandling();
app.UseBffResponseHeaders();
app.UseAuthentication();
app.MapBffEndpoints();

return BffHost.Run(app);

/// <summary>Entry point marker for the test host.</summary>
public partial class Program;
