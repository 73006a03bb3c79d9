using Bff;
using EmbeddedHost;

var builder = WebApplication.CreateBuilder(args);
builder.AddBff();
builder.Services.AddHttpClient(OrdersEndpoint.ApiClient, client =>
    client.BaseAddress = new Uri(builder.Configuration["OrdersApi:BaseAddress"] ?? "http://127.0.0.1:5082/"));

var app = builder.Build();
app.UseBff();
app.MapBff();
app.MapGet("/local/orders", OrdersEndpoint.GetAsync).RequireBffSession();
app.Run();
