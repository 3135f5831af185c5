using ModelMeter.AspNetCore;
using ModelMeter.Sample;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddModelMeter(builder.Configuration);
builder.Services.AddSingleton<EchoModel>();

var app = builder.Build();
app.MapModelMeter("/modelmeter"); // metrics, cost API, dashboard under /modelmeter; no middleware added
app.MapPost("/summarize", SummarizeEndpoint.HandleAsync);   // metered with a scope in the handler
app.MapPost("/echo", EchoEndpoint.HandleAsync).MeteredBy("echo", endpoint: "echo"); // metered by an endpoint filter
app.Run();
