using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Catalog;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Tests.Catalog;

public sealed class ModelLoaderTests
{
    [Fact]
    public async Task Dispose_WhileAModelIsLoading_WaitsForItToStop()
    {
        // A host that fails to start is disposed, not stopped, and the process exits: a model still loading inside native
        // code (ONNX Runtime) then crashed the exit now and then. The factory here ignores cancellation, as native code does.
        var factory = new SlowFactory();
        var options = new ModelMeterOptions { Models = { ["slow"] = new ModelOptions { Backend = "Slow" } } };
        using var catalog = new ModelCatalog();
        var loader = new ModelLoader(Options.Create(options), new ModelSections(new ConfigurationBuilder().Build()), catalog, [factory],
            TimeProvider.System, NullLogger<ModelLoader>.Instance);
        await loader.StartAsync(CancellationToken.None);
        await factory.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var disposing = Task.Run(loader.Dispose);
        await factory.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30)); // Dispose has asked the load to stop

        var first = await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromMilliseconds(200))); // a regression would return at once
        Assert.NotSame(disposing, first);
        factory.Release.SetResult();
        await disposing.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(factory.Finished);
    }

    private sealed class SlowFactory : IModelBackendFactory
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Finished { get; private set; }

        public string Name => "Slow";

        public int DefaultMaxConcurrency => 1;

        public IEnumerable<string> Validate(ModelBackendSettings model) => [];

        public async Task<IModelBackend?> CreateAsync(ModelBackendSettings model, CancellationToken cancellationToken)
        {
            cancellationToken.Register(() => Cancelled.TrySetResult());
            Started.SetResult();
            await Release.Task; // not cancellable
            Finished = true;
            throw new InvalidOperationException("This factory makes no backend.");
        }
    }
}
