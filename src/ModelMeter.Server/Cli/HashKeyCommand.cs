using System.CommandLine;
using ModelMeter.AspNetCore.Tenancy;

namespace ModelMeter.Server.Cli;

/// <summary>
/// <c>hash-key</c>: reads an API key from standard input and prints its SHA-256 in hex, the form
/// <c>Tenants:NAME:ApiKeySha256</c>, <c>Auth:AdminKeySha256</c> and <c>Auth:MetricsKeySha256</c> take. The key is read
/// from input, not taken as an argument, so that it stays out of the shell's history and the process list.
/// </summary>
internal static class HashKeyCommand
{
    public static Command Create(TextReader input, TextWriter output, TextWriter error)
    {
        var command = new Command("hash-key", "Print the SHA-256 (hex) of an API key read from standard input, for the *KeySha256 settings: echo \"$KEY\" | ModelMeter.Server hash-key");
        command.SetAction(_ =>
        {
            var key = input.ReadToEnd().Trim(); // the server trims a key it is sent, so the trailing newline of echo is no part of it
            if (key.Length == 0)
            {
                error.WriteLine("hash-key reads the key from standard input, and it was empty: echo \"$KEY\" | ModelMeter.Server hash-key");
                return CommandLine.Usage;
            }

            if (key.Contains('\n'))
            {
                error.WriteLine("hash-key read more than one line: give one key.");
                return CommandLine.Usage;
            }

            output.WriteLine(TenantResolver.Sha256Hex(key));
            return CommandLine.Ok;
        });
        return command;
    }
}
