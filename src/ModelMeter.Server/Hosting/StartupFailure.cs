using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace ModelMeter.Server.Hosting;

/// <summary>
/// Start-up failures a user can fix, in one message that says what to do (the program prints it and exits with 1, no
/// stack trace): the port is taken, the configuration is wrong, auth would be off beyond loopback. Anything else is a
/// bug and keeps its stack trace.
/// </summary>
internal static class StartupFailure
{
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
