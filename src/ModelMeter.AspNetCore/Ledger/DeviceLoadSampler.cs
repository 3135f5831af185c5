using Microsoft.Extensions.Options;
using ModelMeter.Allocation;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>
/// Reads each shared device's <c>Load</c> gauge (requests its server runs, metered or not) about once a second, for
/// the settlement to find load nobody metered. A reading that fails is counted and skipped; it never blocks a request.
/// </summary>
internal sealed partial class DeviceLoadSampler(
    IOptions<ModelMeterOptions> options, IHttpClientFactory http, DeviceLoadReadings readings, ModelMeterMetrics metrics, TimeProvider time, ILogger<DeviceLoadSampler> logger)
    : IHostedService, IDisposable
{
    /// <summary>The HTTP client's name: a short timeout, no redirects.</summary>
    public const string ClientName = "modelmeter-load";

    /// <summary>The most of a metrics page read; a bigger one is refused as a failed reading.</summary>
    private const int MaxPageBytes = 8 << 20;

    private readonly CancellationTokenSource _stopping = new();
    private int _stopped;
    private Task[] _loops = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loops = [.. options.Value.Devices
            .Where(d => d.Value.Shared && d.Value.Load.MetricsUrl is not null && d.Value.Load.Metric is not null)
            .Select(d => Task.Run(() => SampleAsync(d.Key, d.Value.Load, _stopping.Token)))];
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return; // stopped already (a host stopped, then disposed)
        }

        await _stopping.CancelAsync();
        await Task.WhenAll(_loops);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task SampleAsync(string device, DeviceLoadOptions load, CancellationToken stopping)
    {
        var client = http.CreateClient(ClientName);
        var url = new Uri(load.MetricsUrl!);
        var failing = false;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var at = time.GetUtcNow();
                var running = await ReadAsync(client, url, load.Metric!, stopping);
                readings.Add(device, new LoadSample(at.ToUnixTimeMilliseconds(), running));
                failing = false;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return; // stopping mid-reading: the host's stop must not fail for it
            }
            catch (Exception e) when (!stopping.IsCancellationRequested && e is HttpRequestException or TaskCanceledException or InvalidDataException)
            {
                metrics.DeviceLoadScrapeFailures.WithLabels(device).Inc();
                if (!failing)
                {
                    LogReadFailed(device, url, e.Message); // once per run of failures
                }

                failing = true;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(load.IntervalMs), time, stopping).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task<double> ReadAsync(HttpClient client, Uri url, string metric, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidDataException($"{(int)response.StatusCode} {response.ReasonPhrase}");
        }

        if (response.Content.Headers.ContentLength > MaxPageBytes)
        {
            throw new InvalidDataException($"a metrics page of {response.Content.Headers.ContentLength} bytes");
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxPageBytes)
            {
                throw new InvalidDataException($"a metrics page over {MaxPageBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        var running = PrometheusText.Sum(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), metric)
            ?? throw new InvalidDataException($"no {metric} on the page");
        return double.IsFinite(running) ? running : throw new InvalidDataException($"{metric} sums to more than a count can be");
    }

    [LoggerMessage(EventId = 50, Level = LogLevel.Warning, Message = "Cannot read the load of shared device {Device} from {Url} ({Reason}); unmetered load is not counted until it can (device_load_scrape_failures_total)")]
    private partial void LogReadFailed(string device, Uri url, string reason);
}
