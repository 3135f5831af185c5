using ModelMeter.Onnx.Tokenization;

namespace ModelMeter.Onnx.Tests.Tokenization;

[Collection(SmallModelsCollection.Name)]
public sealed class Gpt2TokenizerTests(SmallModels models)
{
    private readonly Gpt2Tokenizer _tokenizer = Gpt2Tokenizer.Load(models.WithCache);

    [Fact]
    public void Encode_HelloWorld_GivesGpt2Ids()
    {
        Assert.Equal([15496, 995], _tokenizer.Encode("Hello world"));
        Assert.Equal([15496, 995, 11, 428, 318, 257, 1332], _tokenizer.Encode("Hello world, this is a test"));
    }

    [Theory]
    [InlineData("Hello world")]
    [InlineData("naïve café — 日本語のテキスト 🚀🎉")]
    [InlineData("tabs\tand\n\nnewlines   and  spaces ")]
    [InlineData("it's we'll they'd I'm 12345 $%^&*")]
    public void Decode_OfEncode_GivesTheTextBack(string text) =>
        Assert.Equal(text, _tokenizer.Decode(_tokenizer.Encode(text)));

    [Fact]
    public void Load_WrittenVocabulary_HasGpt2Sizes()
    {
        var merges = File.ReadLines(Path.Combine(models.WithCache, "merges.txt")).Count() - 1; // less the version line
        Assert.Equal(50_000, merges);
        Assert.Equal(50256, _tokenizer.EndOfTextId);
        Assert.Equal([50256], _tokenizer.Encode("<|endoftext|>"));
    }
}
