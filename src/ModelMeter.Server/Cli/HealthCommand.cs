using System.CommandLine;
using ModelMeter.Server.Hosting;

namespace ModelMeter.Server.Cli;

/// <summary>
/// <c>health [--url http://127.0.0.1:8000]</c>: asks a running server's <c>/healthz</c> and exits 0 when it answers 200,
/// 1 otherwise: the container's <c>HEALTHCHECK</c>, where the runtime image has no curl.
/// </summary>
internal static class HealthCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var url = new Option<Uri>("--url")
        {
            Description = "The server (default: http://127.0.0.1:8000; in the container image http://127.0.0.1:8080).",
            CustomParser = r => Uri.TryCreate(LedgerArguments.Token(r), UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u
                : LedgerArguments.Fail<Uri>(r, $"--url '{LedgerArguments.Token(r)}' is not an http(s) URL."),
        };
        var readiness = new Option<bool>("--ready") { Description = "Ask /readyz instead: every model loaded and the ledger writable." };
        var command = new Command("health", "Exit 0 when a running server answers /healthz with 200, else 1 (for container health checks).")
        {
            url, readiness,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var probe = new Uri(parsed.GetValue(url) ?? new Uri(ListenAddresses.Default), parsed.GetValue(readiness) ? "/readyz" : "/healthz");
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            try
            {
                using var response = await client.GetAsync(probe, cancellationToken);
                (response.IsSuccessStatusCode ? output : error).WriteLine($"{probe}: {(int)response.StatusCode} {response.ReasonPhrase}");
                return response.IsSuccessStatusCode ? CommandLine.Ok : CommandLine.Failed;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                error.WriteLine($"{probe}: no answer ({e.Message})");
                return CommandLine.Failed;
            }
        });
        return command;
    }
}
