using Microsoft.Extensions.Time.Testing;
using ModelMeter.Allocation;
using ModelMeter.Ledger;
using ModelMeter.Metering;
using ModelMeter.Pricing;
using Prometheus;

namespace ModelMeter.Tests.Metering;

/// <summary>What one request's meter reports: its charge, its ledger rows and its series, on a device or priced per token.</summary>
public sealed class MeteredRequestTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly ModelMeterMetrics _metrics = new(Metrics.NewCustomRegistry(), new System.Diagnostics.Metrics.Meter(GenAiInstruments.MeterName));
    private readonly CostMeter _meter;

    public MeteredRequestTests()
    {
        var device = new DeviceAllocator("gpu0", RateCard.Flat(3600), _time); // 1 USD per device-second
        _meter = new CostMeter(
            [device], new Dictionary<string, string> { ["a"] = "gpu0" }, ["generate"], _metrics, _time, tenants: ["acme"],
            modelPrices: new Dictionary<string, TokenPrice> { ["api"] = new(InputPerMillionUsd: 2, OutputPerMillionUsd: 10) });
    }

    [Fact]
    public void PricedModel_ChargesTokensTimesPrice_AndItsRowNamesNoDevice()
    {
        var request = _meter.Begin("api", "generate");
        request.InputTokens = 1_000;
        request.StartOnDevice();
        request.TokensSoFar(500);
        _time.Advance(TimeSpan.FromSeconds(30)); // time is not what a paid API charges

        var charge = request.Complete();
        var row = request.ToLedgerRow("r1", charge, "ok");

        Assert.Equal((1_000 * 2 + 500 * 10) / 1e6, charge.CostUsd, 12);
        Assert.Equal("", request.Device);
        Assert.Equal(("", 0.0, -1, (DateTimeOffset?)null), (row.Device, row.HourlyUsd, row.RateVersion, row.DeviceStartedAt));
        Assert.Equal(charge.CostUsd, _metrics.EstimatedCost.WithLabels("api").Value, 12);
    }

    [Fact]
    public void LedgerRow_CarriesWhoPaidTheDeviceRateAndWhenItStartedOnTheDevice()
    {
        var request = _meter.Begin("a", "generate");
        _time.Advance(TimeSpan.FromSeconds(2)); // queued
        request.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(3));

        var row = request.ToLedgerRow("r1", request.Complete(), "ok");

        Assert.Equal(("anonymous", "", "gpu0"), (row.Tenant, row.User, row.Device)); // no tenant given: billed to anonymous
        Assert.Equal((3600.0, T0.AddSeconds(2)), (row.HourlyUsd, row.DeviceStartedAt));
        Assert.Equal(3, row.CostUsd, 9); // the queue is not charged
        Assert.Equal(5, row.LatencySeconds, 9); // but it is latency
    }

    [Fact]
    public void ProvisionalRow_BeforeTheDevice_HasNoRate_OnTheDevice_HasItsRateAndTheReservationAsCost()
    {
        var request = _meter.Begin("a", "generate");
        request.Tenant = "acme";
        request.User = "u1";
        request.InputTokens = 12;
        var before = request.ToProvisionalRow("r1", reservedUsd: 0.5);
        _time.Advance(TimeSpan.FromSeconds(1));
        request.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(1));
        var on = request.ToProvisionalRow("r1", reservedUsd: 0.5);

        Assert.Equal((LedgerRow.ProvisionalStatus, 0.0, -1, (DateTimeOffset?)null), (before.Status, before.HourlyUsd, before.RateVersion, before.DeviceStartedAt));
        Assert.Equal((3600.0, 0, (DateTimeOffset?)T0.AddSeconds(1)), (on.HourlyUsd, on.RateVersion, on.DeviceStartedAt));
        Assert.Equal((0.5, 12, 0, "acme", "u1"), (on.CostUsd, on.InputTokens, on.OutputTokens, on.Tenant, on.User));
        Assert.Equal((T0, T0.AddSeconds(2), 2.0), (on.StartedAt, on.EndedAt, on.LatencySeconds));
    }

    [Fact]
    public void QueueWait_IsObservedWhenTheRequestStartsOnItsDevice()
    {
        var request = _meter.Begin("a", "generate");
        _time.Advance(TimeSpan.FromSeconds(0.25));

        request.StartOnDevice();

        Assert.Equal((1, 0.25), (_metrics.QueueWait.WithLabels("a").Count, _metrics.QueueWait.WithLabels("a").Sum));
        _meter.PublishDeviceAccounts(); // as a scrape does first
        Assert.Equal(1, _metrics.InFlight.WithLabels("a").Value);
    }

    [Fact]
    public void FirstToken_IsTheFirstReportOfAtLeastOneToken_NotAnEmptyReport()
    {
        var request = _meter.Begin("a", "generate");
        request.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(1));
        request.TokensSoFar(0); // a chunk without tokens (a role delta)
        _time.Advance(TimeSpan.FromSeconds(1));
        request.TokensSoFar(1);

        request.Complete();

        Assert.Equal(2, request.TimeToFirstTokenSeconds);
        Assert.Equal((1, 2.0), (_metrics.TimeToFirstToken.WithLabels("a").Count, _metrics.TimeToFirstToken.WithLabels("a").Sum));
    }

    [Fact]
    public void Served_ObservesLatency_ButARequestWithoutTokensHasNoFirstToken()
    {
        var request = _meter.Begin("a", "generate");
        request.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(1.5));

        request.Complete();

        Assert.Equal((1, 1.5), (_metrics.RequestDuration.WithLabels("a").Count, _metrics.RequestDuration.WithLabels("a").Sum));
        Assert.Equal(0, _metrics.TimeToFirstToken.WithLabels("a").Count);
    }

    [Fact]
    public void SetUsage_ReplacesTheRunningCount_MarksTheFirstToken_AndRefusesNegativeCounts()
    {
        var request = _meter.Begin("a", "generate");
        request.StartOnDevice();
        request.TokensSoFar(9);
        _time.Advance(TimeSpan.FromSeconds(1));

        request.SetUsage(inputTokens: 4, outputTokens: 6, estimated: true);

        Assert.Equal((4, 6, true), (request.InputTokens, request.OutputTokens, request.UsageEstimated));
        Assert.Equal(0, request.TimeToFirstTokenSeconds); // the first token was the running count's, at the start
        Assert.Throws<ArgumentOutOfRangeException>(() => request.SetUsage(-1, 6, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => request.SetUsage(4, -1, false));
        Assert.Equal((4, 6), (request.InputTokens, request.OutputTokens)); // a refused report changes nothing
    }

    [Fact]
    public void SetUsage_AsTheFirstReport_MarksTheFirstToken()
    {
        var request = _meter.Begin("a", "generate");
        request.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(3));

        request.SetUsage(2, 5, estimated: false);

        Assert.Equal(3, request.TimeToFirstTokenSeconds);
    }

    [Fact]
    public void ClearTokens_ForARefusedPaidRequest_ChargesNothing()
    {
        var request = _meter.Begin("api", "generate");
        request.InputTokens = 1_000;
        request.StartOnDevice();
        request.TokensSoFar(10);

        request.ClearTokens();
        var charge = request.Fail(ErrorReason.UpstreamRejected);

        Assert.Equal((0, 0, 0.0), (request.InputTokens, request.OutputTokens, charge.CostUsd));
    }

    [Fact]
    public void MarkFailed_AfterFinish_CountsTheErrorNotTheRequest()
    {
        var request = _meter.Begin("a", "generate");
        request.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(1));

        var charge = request.Finish();
        request.MarkFailed(ErrorReason.LedgerUnavailable);

        Assert.Equal(1, charge.CostUsd, 9); // the device time is still the model's
        _meter.PublishDeviceAccounts(); // as a scrape does first
        Assert.Equal(0, _metrics.Requests.WithLabels("a", "generate").Value);
        Assert.Equal(1, _metrics.Errors.WithLabels("a", "generate", ErrorReason.LedgerUnavailable).Value);
    }

    [Fact]
    public void TenantCost_CountsConfiguredTenantsOnly()
    {
        var named = _meter.Begin("a", "generate");
        named.Tenant = "acme";
        named.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(2));
        named.Complete();
        var other = _meter.Begin("a", "generate");
        other.Tenant = "someone-else";
        other.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(1));
        other.Complete();

        Assert.Equal(2, _metrics.TenantCost.WithLabels("a", "acme").Value, 9);
        Assert.DoesNotContain(_metrics.TenantCost.GetAllLabelValues(), labels => labels.Contains("someone-else")); // no series per caller
    }
}
