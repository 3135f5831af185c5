using ModelMeter.Server;
using ModelMeter.Server.Cli;
using ModelMeter.Server.Hosting;

if (CommandLine.IsVerb(args))
{
    return CommandLine.Run(args, Console.Out, Console.Error);
}

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddModelMeterServer();

    var app = builder.Build();
    app.MapModelMeterServer();
    app.Run();
    return 0;
}
catch (Exception e) when (StartupFailure.Describe(e) is { } message)
{
    // A failure the user can fix: one clear message and exit code 1, no stack trace.
    Console.Error.WriteLine(message);
    return 1;
}

/// <summary>The entry point, visible to tests.</summary>
public partial class Program;
