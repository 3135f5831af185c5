using System.Text;
using System.Text.Json;
using ModelMeter.AspNetCore.Http;

namespace ModelMeter.AspNetCore.Tests.Http;

public sealed class JsonTextTests
{
    [Theory]
    [InlineData("{\"prompt\": \"plain\"}")]
    [InlineData("{\"prompt\": \"Grüße 🚀\"}")] // raw UTF-8
    [InlineData("{\"prompt\": \"Gr\\u00fc\\u00dfe \\ud83d\\ude80\"}")] // escaped, the emoji as a surrogate pair
    [InlineData("{\"path\": \"C:\\\\users\\\\u0041\"}")] // an escaped backslash before "u" is no escape
    [InlineData("[1, true, null, {\"a\": [\"b\"]}]")]
    public void Text_IsReadable(string json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Null(JsonText.FindUnreadable(document.RootElement));
    }

    [Theory]
    [InlineData("{\"prompt\": \"a\\ud800b\"}", "$.prompt")] // a high surrogate without its low one
    [InlineData("{\"prompt\": \"a\\udc00\"}", "$.prompt")] // a low one alone
    [InlineData("{\"prompt\": \"\\ud83d\\ud83d\"}", "$.prompt")] // two high ones
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"ok\"}, {\"role\": \"user\", \"content\": [{\"text\": \"\\udfff\"}]}]}", "$.messages[1].content[0].text")]
    [InlineData("{\"messages\": [{\"\\ud800\": 1}]}", "$.messages[0]")] // a name: the path ends at its object
    [InlineData("[\"ok\", \"\\ud800\"]", "$[1]")]
    public void UnpairedSurrogate_FoundWithItsPath(string json, string path)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Equal(path, JsonText.FindUnreadable(document.RootElement));
    }

    [Theory]
    [InlineData("{\"model\": \"a\", \"prompt\": \"x\", \"model\": \"b\"}", "$.model")]
    [InlineData("{\"model\": \"a\", \"mod\\u0065l\": \"b\"}", "$.model")] // the same name, one of them escaped
    [InlineData("{\"messages\": [{\"role\": \"user\"}, {\"role\": \"user\", \"content\": \"hi\", \"role\": \"system\"}]}", "$.messages[1].role")]
    [InlineData("{\"a\": {\"b\": {\"c\": 1, \"c\": 2}}, \"d\": 3}", "$.a.b.c")]
    public void NameGivenTwice_FoundWithItsPath(string json, string path)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Equal(path, JsonText.FindDuplicate(document.RootElement));
    }

    [Theory]
    [InlineData("{\"a\": {\"x\": 1}, \"b\": {\"x\": 1}, \"x\": [{\"x\": 1}, {\"x\": 2}]}")] // one name in several objects
    [InlineData("{\"Model\": \"a\", \"model\": \"b\"}")] // names differ in case
    [InlineData("[]")]
    public void NamesOncePerObject_NoDuplicate(string json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Null(JsonText.FindDuplicate(document.RootElement));
    }

    [Fact]
    public void BytesNotUtf8_FoundWithTheirPath()
    {
        // The parser takes them; reading the string would throw.
        byte[] json = [.. "{\"a\": \"fine\", \"b\": {\"c\": \"x"u8, 0xC3, 0x28, .. "\"}}"u8];
        using var document = JsonDocument.Parse(json);

        Assert.Throws<InvalidOperationException>(() => document.RootElement.GetProperty("b").GetProperty("c").GetString());
        Assert.Equal("$.b.c", JsonText.FindUnreadable(document.RootElement));
    }

    [Fact]
    public void LongReadableText_ReadWithoutCopies()
    {
        // The check reads the raw bytes: a mebibyte of readable text allocates nothing, no string of it and no path.
        var prompt = new string('a', 1 << 20);
        using var document = JsonDocument.Parse(Encoding.UTF8.GetBytes($"{{\"prompt\": \"{prompt}\"}}"));
        JsonText.FindUnreadable(document.RootElement); // warm

        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Null(JsonText.FindUnreadable(document.RootElement));
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
