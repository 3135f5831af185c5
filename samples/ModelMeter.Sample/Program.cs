using ModelMeter.AspNetCore;
using ModelMeter.Sample;

var builder = WebApplication.CreateBuilder(args);
// prometheus-net's meter adapter would record ModelMeter's GenAI histograms again on each request (see the README).
Prometheus.Metrics.ConfigureMeterAdapter(adapter => adapter.InstrumentFilterPredicate = ModelMeter.Metering.GenAiInstruments.IsNotGenAi);
builder.Services.AddModelMeter(builder.Configuration);
builder.Services.AddSingleton<EchoModel>();

var app = builder.Build();
app.MapModelMeter("/modelmeter"); // metrics, cost API, dashboard under /modelmeter; no middleware added
app.MapPost("/summarize", SummarizeEndpoint.HandleAsync);   // metered with a scope in the handler
app.MapPost("/echo", EchoEndpoint.HandleAsync).MeteredBy("echo", endpoint: "echo"); // metered by an endpoint filter
app.Run();
