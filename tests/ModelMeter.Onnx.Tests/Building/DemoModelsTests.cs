using ModelMeter.Onnx.Building;
using ModelMeter.Onnx.Generation;

namespace ModelMeter.Onnx.Tests.Building;

public sealed class DemoModelsTests : IDisposable
{
    private readonly string _directory = Path.Combine(Directory.CreateTempSubdirectory("modelmeter-demo-").FullName, "model");

    [Fact]
    public void EnsureWritten_TokenizerFilesGone_WritesThemAgain_KeepsTheWeights_AndTheModelLoads()
    {
        var config = new Gpt2Config(Layers: 1, Heads: 2, Width: 16, ContextLength: 64);
        Assert.True(DemoModels.EnsureWritten(config, _directory, withPast: true, seed: 3));
        var weights = File.GetLastWriteTimeUtc(Path.Combine(_directory, "model.onnx"));
        File.Delete(Path.Combine(_directory, "vocab.json")); // a build's clean-up took the files it once copied

        Assert.False(DemoModels.EnsureWritten(config, _directory, withPast: true, seed: 3));

        Assert.True(File.Exists(Path.Combine(_directory, "vocab.json")));
        Assert.Equal(weights, File.GetLastWriteTimeUtc(Path.Combine(_directory, "model.onnx")));
        using var model = OnnxCausalLm.Load(_directory, 0);
        Assert.NotEmpty(model.Tokenize("who spent the money"));
    }

    [Fact]
    public void EnsureWritten_AModelOfAnEarlierGraph_IsWrittenAgain_Once_AndItsPresentsHoldTheNewPositionsOnly()
    {
        var config = new Gpt2Config(Layers: 1, Heads: 2, Width: 16, ContextLength: 64);
        Assert.True(DemoModels.EnsureWritten(config, _directory, withPast: true, seed: 3));
        var configPath = Path.Combine(_directory, "config.json");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"modelmeter_graph\":3,", "\"modelmeter_graph\":2,", StringComparison.Ordinal)); // as version 2 wrote it

        Assert.True(DemoModels.EnsureWritten(config, _directory, withPast: true, seed: 3));

        Assert.Contains("\"modelmeter_graph\":3", File.ReadAllText(configPath), StringComparison.Ordinal);
        using (var model = OnnxCausalLm.Load(_directory, 0))
        {
            Assert.True(model.AppendsPresents);
        }

        Assert.False(DemoModels.EnsureWritten(config, _directory, withPast: true, seed: 3)); // and only once
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_directory)!, recursive: true);
}
