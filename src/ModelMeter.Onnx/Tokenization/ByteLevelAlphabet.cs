namespace ModelMeter.Onnx.Tokenization;

/// <summary>
/// GPT-2's byte-to-character table: printable bytes stand for themselves, the others are moved
/// to code points from 256 upwards, so every byte sequence is a visible string in vocab.json.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] Table = Build();

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = Table[bytes[i]];
        }

        return new string(chars);
    }

    private static char[] Build()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }

        return table;
    }
}
