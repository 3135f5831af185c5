using Microsoft.Extensions.DependencyInjection;
using ModelMeter.AspNetCore.Catalog;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Tests.Generation;

/// <summary>A request's lifecycle owns what admission took and ends once: one final row, everything given back once.</summary>
public sealed class RequestLifecycleTests : IAsyncLifetime
{
    private LibraryHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await LibraryHost.StartAsync(new() { ["ModelMeter:Tenants:acme:MaxConcurrentRequests"] = "1" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private RequestAdmission Admission => _host.Services.GetRequiredService<RequestAdmission>();

    [Fact]
    public async Task EndAsync_Once_OneOkRowAndTheTenantsSlotBack_ASecondEndThrows()
    {
        var lifecycle = await AdmitAsync();
        lifecycle.StartOnDevice();
        lifecycle.Metered.InputTokens = 3;
        lifecycle.Metered.TokensSoFar(5);
        _host.Time.Advance(TimeSpan.FromSeconds(2));

        var (charge, unbilled) = await lifecycle.EndAsync(null);
        await lifecycle.DisposeAsync(); // ended already: nothing is ended or released twice

        Assert.Null(unbilled);
        Assert.Equal(2, charge.CostUsd, 9); // two device-seconds at 1 USD each
        Assert.Equal(["ok"], _host.RowStatuses(lifecycle.RequestId));
        await Assert.ThrowsAsync<InvalidOperationException>(() => lifecycle.EndAsync(null));
        await using var next = await AdmitAsync(); // the tenant's one concurrent slot is free again
    }

    [Fact]
    public async Task DisposedWithoutAnEnd_EndsAsInternal_WithOneRowAndNothingHeld()
    {
        var lifecycle = await AdmitAsync();
        lifecycle.StartOnDevice();

        await lifecycle.DisposeAsync(); // what an exception on the way does

        Assert.True(lifecycle.Ended);
        Assert.Equal([ErrorReason.Internal], _host.RowStatuses(lifecycle.RequestId));
        await using var next = await AdmitAsync();
    }

    [Fact]
    public async Task RefusedAtTheGate_NoRow_TheSlotAndTheTenantFree()
    {
        var lifecycle = await AdmitAsync();
        var gate = new ModelGate(maxConcurrency: 1, maxQueue: 0);
        using var holder = await gate.TryEnterAsync(1, CancellationToken.None); // the model's one place is taken

        var entered = await lifecycle.EnterGateAsync(gate, 1, CancellationToken.None);
        var (charge, _) = await lifecycle.EndAsync(ErrorReason.Overloaded, writeRow: false);

        Assert.False(entered);
        Assert.Equal(0, charge.CostUsd); // never on the device
        Assert.Empty(_host.RowStatuses(lifecycle.RequestId));
        await using var next = await AdmitAsync();
    }

    [Fact]
    public async Task AStreamsProvisionalRow_WrittenOnce_ThenReplacedByItsFinalRow()
    {
        var lifecycle = await AdmitAsync();
        lifecycle.StartOnDevice();

        await lifecycle.BeforeFirstChunkAsync(CancellationToken.None);
        await lifecycle.BeforeFirstChunkAsync(CancellationToken.None); // every chunk asks; one row
        var provisional = _host.RowStatuses(lifecycle.RequestId);
        await lifecycle.EndAsync(ErrorReason.ClientClosed);

        Assert.Equal([ModelMeter.Ledger.LedgerRow.ProvisionalStatus], provisional);
        Assert.Equal([ErrorReason.ClientClosed], _host.RowStatuses(lifecycle.RequestId));
    }

    [Fact]
    public async Task TheGateSlot_GoesBackWhenTheRequestEnds()
    {
        var gate = new ModelGate(maxConcurrency: 1, maxQueue: 0);
        var first = await AdmitAsync();
        Assert.True(await first.EnterGateAsync(gate, 1, CancellationToken.None));
        await first.EndAsync(ErrorReason.Internal);

        using var after = await gate.TryEnterAsync(1, CancellationToken.None);

        Assert.NotNull(after);
    }

    private async Task<RequestLifecycle> AdmitAsync()
    {
        var (admitted, refused) = await Admission.AdmitAsync(GenerationPipeline.NewRequestId(), "ext", "custom", "acme", inputTokens: 3, maxTokens: 5);
        Assert.Null(refused);
        return admitted!;
    }
}
