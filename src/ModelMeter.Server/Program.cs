using ModelMeter.Server;
using ModelMeter.Server.Cli;

if (CommandLine.IsVerb(args))
{
    return CommandLine.Run(args, Console.Out, Console.Error);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddModelMeterServer();

var app = builder.Build();
app.MapModelMeterServer();
app.Run();
return 0;

/// <summary>The entry point, visible to tests.</summary>
public partial class Program;
