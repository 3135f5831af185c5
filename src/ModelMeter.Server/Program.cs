using ModelMeter.Server;

var builder = WebApplication.CreateBuilder(args);
builder.AddModelMeterServer();

var app = builder.Build();
app.MapModelMeterServer();
app.Run();

/// <summary>The entry point, visible to tests.</summary>
public partial class Program;
