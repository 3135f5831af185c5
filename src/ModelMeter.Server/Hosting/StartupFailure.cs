using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace ModelMeter.Server.Hosting;

/// <summary>
/// Start-up failures a user can fix, in one message that says what to do (the program prints it and exits with 1, no
/// stack trace): the port is taken, the configuration is wrong, the ledger cannot be opened, auth would be off beyond
/// loopback, an https:// address has no certificate or one that cannot be loaded. Anything else is a bug and keeps its stack trace.
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
    /// <param name="failure">What ended the start.</param>
    /// <param name="contentRoot">The folder the server read its <c>appsettings.json</c> from (the current one unless
    /// <c>--contentRoot</c> says otherwise), when known.</param>
    public static string? Describe(Exception failure, string? contentRoot = null) => failure switch
    {
        OptionsValidationException invalid =>
            $"ModelMeter's configuration has {invalid.Failures.Count()} problem(s); nothing was started:\n  " + string.Join("\n  ", invalid.Failures)
            + NoSettingsFile(contentRoot),
        IOException { InnerException: AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } } inUse =>
            $"ModelMeter could not listen: {inUse.Message} Another process holds that port: stop it, or start on another one, e.g. --urls http://127.0.0.1:8001",
        InvalidOperationException { Message: var message } when message.StartsWith("ModelMeter:", StringComparison.Ordinal)
            || message.StartsWith("ModelMeter could not listen:", StringComparison.Ordinal) => message,
        InvalidOperationException when ModelMeter.AspNetCore.Configuration.ConfigurationErrors.Describe(failure) is { } problem =>
            $"ModelMeter's configuration has a problem; nothing was started:\n  {problem}",
        // An https:// address without a certificate: Kestrel's own message, without its stack trace, and what to do.
        InvalidOperationException https when ThrownWithin(https, "Microsoft.AspNetCore.Hosting.ListenOptionsHttpsExtensions") =>
            $"ModelMeter could not listen on HTTPS: {https.Message.Split('\n')[0]} Give Kestrel a certificate "
            + "(Kestrel:Certificates:Default:Path, with :Password or :KeyPath), or listen on http://127.0.0.1 behind a proxy that ends TLS.",
        // A certificate Kestrel was told to load and could not (no such file, not a certificate, a wrong password).
        Exception certificate when ThrownWithin(certificate, "Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Certificates.CertificateConfigLoader") =>
            $"ModelMeter could not load its HTTPS certificate: {certificate.Message} Check Kestrel:Certificates:Default:Path (or an "
            + "endpoint's Certificate) and its :Password or :KeyPath.",
        AggregateException { InnerExceptions: [var only] } => Describe(only, contentRoot),
        _ => null,
    };

    /// <summary>Whether a method of the type named <paramref name="typeFullName"/> is on <paramref name="failure"/>'s stack.</summary>
    private static bool ThrownWithin(Exception failure, string typeFullName) =>
        new System.Diagnostics.StackTrace(failure).GetFrames().Any(frame => frame.GetMethod()?.DeclaringType?.FullName == typeFullName);

    /// <summary>
    /// A hint when the folder the server started from holds no <c>appsettings.json</c> (a published server started from
    /// another folder): its demo models and defaults are in that file, beside the program.
    /// </summary>
    private static string NoSettingsFile(string? contentRoot) =>
        contentRoot is null || File.Exists(Path.Combine(contentRoot, "appsettings.json")) ? ""
            : $"\nThere is no appsettings.json in {contentRoot}, the folder the server reads it from: start it from the folder that "
              + $"holds it (beside the program: {AppContext.BaseDirectory}), or name that folder with --contentRoot.";
}
