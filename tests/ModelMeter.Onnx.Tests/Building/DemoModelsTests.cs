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
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"modelmeter_graph\":4,", "\"modelmeter_graph\":3,", StringComparison.Ordinal)); // as version 3 wrote it

        Assert.True(DemoModels.EnsureWritten(config, _directory, withPast: true, seed: 3));

        Assert.Contains("\"modelmeter_graph\":4", File.ReadAllText(configPath), StringComparison.Ordinal);
        using (var model = OnnxCausalLm.Load(_directory, 0))
        {
            Assert.True(model.AppendsPresents);
        }

        Assert.False(DemoModels.EnsureWritten(config, _directory, withPast: true, seed: 3)); // and only once
    }

    [Theory]
    [InlineData(true)] // an exported model's own config.json
    [InlineData(false)] // none at all
    public void EnsureWritten_UnderADemoName_SomeoneElsesModel_IsNeverWrittenOver(bool withConfig)
    {
        // A user who points demo-small's Path at an exported model of their own, keeping the name.
        Directory.CreateDirectory(_directory);
        var files = new Dictionary<string, string> { ["model.onnx"] = "the user's weights" };
        if (withConfig)
        {
            files["config.json"] = """{"model_type":"gpt2","n_layer":12}""";
        }

        foreach (var (name, text) in files)
        {
            File.WriteAllText(Path.Combine(_directory, name), text);
        }

        Assert.False(DemoModels.EnsureWritten("demo-small", _directory));

        Assert.Equal(files.Keys.Order(), Directory.GetFiles(_directory).Select(Path.GetFileName).Order());
        foreach (var (name, text) in files)
        {
            Assert.Equal(text, File.ReadAllText(Path.Combine(_directory, name)));
        }
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_directory)!, recursive: true);
}
