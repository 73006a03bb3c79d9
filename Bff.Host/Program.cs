using Bff.Authentication;
using Bff.Configuration;
using Bff.Endpoints;
using Bff.Sessions;
using Bff.Spa;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddBffOptions(builder.Configuration);
builder.Services.AddBffSessions(builder.Configuration);
builder.Services.AddBffAuthentication();
builder.Services.AddProblemDetails();
builder.Services.AddBffSpa();

var app = builder.Build();

app.UseBffErrorHandling();
app.UseBffResponseHeaders();
app.UseAuthentication();
app.MapBffEndpoints();
app.MapBffSpa();

return BffHost.Run(app);

/// <summary>Entry point marker for the test host.</summary>
public partial class Program;
