using Microsoft.Extensions.DependencyInjection;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Tests.Generation;

/// <summary>The pipeline without HTTP: who pays, the model and the fields are checked before anything is taken.</summary>
public sealed class PipelineTests : IAsyncLifetime
{
    private LibraryHost _host = null!;

    public async Task InitializeAsync() => _host = await LibraryHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private GenerationPipeline Pipeline => _host.Services.GetRequiredService<GenerationPipeline>();

    [Fact]
    public async Task UnknownModel_NamesItAndHowToListTheModels()
    {
        var outcome = await RunAsync(Call("nope"));

        Assert.Equal(GenerationErrorKind.UnknownModel, outcome.Error!.Kind);
        Assert.Contains("GET /v1/models", outcome.Error.Message);
    }

    [Theory]
    [InlineData(0, "max_tokens is 0")]
    [InlineData(-5, "max_tokens is -5")]
    [InlineData(1_000_000, "max_tokens is 1000000")]
    public async Task MaxTokensOutOfRange_RefusedNamingTheField(int maxTokens, string message)
    {
        var outcome = await RunAsync(Call("ext") with { MaxTokens = maxTokens });

        Assert.Equal((GenerationErrorKind.InvalidField, "max_tokens"), (outcome.Error!.Kind, outcome.Error.Field));
        Assert.StartsWith(message, outcome.Error.Message);
    }

    [Theory]
    [InlineData("   ")]
    [InlineData("")]
    public async Task EmptyPrompt_Refused(string text)
    {
        var outcome = await RunAsync(Call("ext") with { Prompt = Prompt.FromText(text) });

        Assert.Equal((GenerationErrorKind.InvalidField, "prompt"), (outcome.Error!.Kind, outcome.Error.Field));
    }

    [Fact]
    public async Task AModelTheAppServesItself_IsNotServedByThisRoute()
    {
        var outcome = await RunAsync(Call("ext"));

        Assert.Equal((GenerationErrorKind.InvalidField, "model"), (outcome.Error!.Kind, outcome.Error.Field));
        Assert.Contains("application's own endpoint", outcome.Error.Message);
        Assert.Empty(_host.AllStatuses()); // refused before admission: nothing billed
    }

    private Task<GenerationOutcome> RunAsync(GenerationCall call) => Pipeline.RunAsync(call, observer: null, CancellationToken.None);

    private static GenerationCall Call(string model) =>
        new(model, "generate", new Caller(null, "acme", null)) { Prompt = Prompt.FromText("héllo, wörld"), MaxTokens = 4 };
}
