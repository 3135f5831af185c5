using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;

namespace ModelMeter.AspNetCore.Gateway;

/// <summary>Reads an upstream's body within <see cref="UpstreamLimits"/>: memory stays bounded whatever the upstream sends.</summary>
internal static class UpstreamBody
{
    /// <summary>The lines of an event stream (without their line ends), each at most a line's limit, together at most an answer's.</summary>
    public static async IAsyncEnumerable<string> LinesAsync(Stream body, UpstreamLimits limits, [EnumeratorCancellation] CancellationToken token)
    {
        var reader = PipeReader.Create(body, new StreamPipeReaderOptions(leaveOpen: true));
        var lines = new List<string>();
        long total = 0;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(token);
                var buffer = result.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    lines.Add(Line(buffer.Slice(0, end), limits));
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                }

                total += result.Buffer.Length - buffer.Length;
                if (buffer.Length > limits.LineBytes)
                {
                    throw new UpstreamTooLargeException($"a line of its event stream is over {limits.LineBytes} bytes.");
                }

                if (total + buffer.Length > limits.AnswerBytes)
                {
                    throw new UpstreamTooLargeException($"the answer is over {limits.AnswerBytes} bytes.");
                }

                var last = result.IsCompleted && buffer.Length > 0 ? Line(buffer, limits) : null;
                reader.AdvanceTo(buffer.Start, buffer.End);
                foreach (var line in lines)
                {
                    yield return line;
                }

                lines.Clear();
                if (result.IsCompleted)
                {
                    if (last is not null)
                    {
                        yield return last;
                    }

                    yield break;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>A whole answer's bytes, at most an answer's limit.</summary>
    public static async Task<byte[]> ReadAsync(Stream body, long limit, CancellationToken token)
    {
        var read = await ReadAtMostAsync(body, limit + 1, token);
        return read.Length > limit ? throw new UpstreamTooLargeException($"the answer is over {limit} bytes.") : read;
    }

    /// <summary>The first <paramref name="count"/> bytes of <paramref name="body"/> (fewer if it ends); the rest is not read.</summary>
    public static async Task<byte[]> ReadAtMostAsync(Stream body, long count, CancellationToken token)
    {
        using var kept = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (kept.Length < count)
            {
                var n = await body.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, count - kept.Length)), token);
                if (n == 0)
                {
                    break;
                }

                kept.Write(chunk, 0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return kept.ToArray();
    }

    private static string Line(ReadOnlySequence<byte> bytes, UpstreamLimits limits)
    {
        if (bytes.Length > limits.LineBytes)
        {
            throw new UpstreamTooLargeException($"a line of its event stream is over {limits.LineBytes} bytes.");
        }

        var line = Encoding.UTF8.GetString(bytes);
        return line.EndsWith('\r') ? line[..^1] : line;
    }
}
