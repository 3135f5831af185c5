using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace ModelMeter.Server.Hosting;

/// <summary>
/// Start-up failures a user can fix, in one message that says what to do (the program prints it and exits with 1, no
/// stack trace): the port is taken, the configuration is wrong, the ledger cannot be opened, auth would be off beyond
/// loopback. Anything else is a bug and keeps its stack trace.
/// </summary>
internal static class StartupFailure
{
    /// <summary>The generic host's category, which logs a failed start with its stack trace.</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>
    /// Keeps the generic host's own "Hosting failed to start" error (a stack trace) out of the start, since the program
    /// explains a failure itself and lets any other exception end the process with its stack trace. Once the host has
    /// started, or with <c>Logging:LogLevel:Default</c> at Debug or Trace (asking for the detail), the host logs as usual.
    /// </summary>
    /// <returns>What to call when the host has started.</returns>
    public static Action QuietHostStartLog(WebApplicationBuilder builder)
    {
        var started = new StrongBox<bool>();
        if (builder.Configuration["Logging:LogLevel:Default"] is not ("Debug" or "Trace"))
        {
            builder.Logging.AddFilter(HostCategory, level => Volatile.Read(ref started.Value) || level >= LogLevel.Critical);
        }

        return () => Volatile.Write(ref started.Value, true);
    }

    /// <summary>The message for <paramref name="failure"/>, or null when it is not one a user can fix.</summary>
    public static string? Describe(Exception failure) => failure switch
    {
        OptionsValidationException invalid =>
            $"ModelMeter's configuration has {invalid.Failures.Count()} problem(s); nothing was started:\n  " + string.Join("\n  ", invalid.Failures),
        IOException { InnerException: AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } } inUse =>
            $"ModelMeter could not listen: {inUse.Message} Another process holds that port: stop it, or start on another one, e.g. --urls http://127.0.0.1:8001",
        InvalidOperationException { Message: var message } when message.StartsWith("ModelMeter:", StringComparison.Ordinal) => message,
        AggregateException { InnerExceptions: [var only] } => Describe(only),
        _ => null,
    };
}
