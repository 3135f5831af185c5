using ModelMeter.Server;
using ModelMeter.Server.Cli;
using ModelMeter.Server.Hosting;

return CommandLine.Run(args, Console.Out, Console.Error, Console.In, Serve);

// The default verb: the server, with the configuration arguments the command line left to it.
static int Serve(string[] settings)
{
    string? contentRoot = null;
    try
    {
        var builder = WebApplication.CreateBuilder(settings);
        contentRoot = builder.Environment.ContentRootPath;
        var started = StartupFailure.QuietHostStartLog(builder);
        builder.AddModelMeterServer();

        var app = builder.Build();
        app.Lifetime.ApplicationStarted.Register(started);
        app.MapModelMeterServer();
        app.Run();
        return CommandLine.Ok;
    }
    catch (Exception e) when (StartupFailure.Describe(e, contentRoot) is { } message)
    {
        // A failure the user can fix: one clear message and exit code 1, no stack trace.
        Console.Error.WriteLine(message);
        return CommandLine.Failed;
    }
}

/// <summary>The entry point, visible to tests.</summary>
public partial class Program;
