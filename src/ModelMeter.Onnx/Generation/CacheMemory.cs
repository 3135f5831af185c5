using System.Runtime.InteropServices;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// Native memory for key/value caches that steps append to, kept when freed (up to the given bytes, 512 MiB by default) and handed out
/// again, as a decode step gathers its rows into fresh tensors whenever a row joins or leaves. Not the garbage-collected
/// heap, and not fresh pages each time: see <see cref="GatherBuffers"/> for what each of those cost.
/// </summary>
internal sealed class CacheMemory(long keepBytes = 512L << 20) : IDisposable
{
    private readonly List<Block> _free = [];
    private long _freeBytes;
    private bool _disposed;
    private long _allocated;

    /// <summary>How many times the bytes asked for a kept block lent may hold, at most (see <see cref="Rent"/>).</summary>
    public const int MaxLendFactor = 4;

    /// <summary>A native allocation.</summary>
    public readonly record struct Block(nint Pointer, long Bytes);

    /// <summary>Blocks allocated new so far (not handed out again from those kept).</summary>
    public long Allocated => Interlocked.Read(ref _allocated);

    /// <summary>Bytes kept for reuse now.</summary>
    public long FreeBytes
    {
        get
        {
            lock (_free)
            {
                return _freeBytes;
            }
        }
    }

    /// <summary>
    /// A block of at least <paramref name="bytes"/>: the smallest kept one that fits and is at most
    /// <see cref="MaxLendFactor"/> times that, or a new one. A kept block's pages are already touched; a new block's are
    /// not, and on a VM touching them cost about 1 ms per 1 MB: demo-large's rows keep 24 tensors, and a 900-token prompt's
    /// cache growing from 810 to 1,020 positions into new blocks (24 of 2 MB) took 43-48 ms inside one turn, the largest gap
    /// of the 6 streams beside it (over 4x their median in 12 of 16 first runs of fresh servers), while the warm-up's kept
    /// 5 MB blocks sat unused, passed over at 2.5 times the size when a block was lent only within twice it. Within four
    /// times, no block was new after the warm-up and no first run was over 4x (docs/benchmarks.md); a cache still holds at
    /// most four times the memory it needs.
    /// </summary>
    public Block Rent(long bytes)
    {
        lock (_free)
        {
            var best = -1;
            for (var i = 0; i < _free.Count; i++)
            {
                if (_free[i].Bytes >= bytes && _free[i].Bytes <= MaxLendFactor * Math.Max(bytes, 1) && (best < 0 || _free[i].Bytes < _free[best].Bytes))
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                var block = _free[best];
                _free.RemoveAt(best);
                _freeBytes -= block.Bytes;
                return block;
            }
        }

        Interlocked.Increment(ref _allocated);
        return new Block(Marshal.AllocHGlobal((nint)Math.Max(bytes, 1)), Math.Max(bytes, 1));
    }

    /// <summary>Takes a block back for reuse (or frees it, past the bytes kept or once disposed).</summary>
    public void Return(Block block)
    {
        lock (_free)
        {
            if (!_disposed && block.Bytes <= keepBytes)
            {
                _free.Add(block);
                _freeBytes += block.Bytes;
                while (_freeBytes > keepBytes)
                {
                    Marshal.FreeHGlobal(_free[0].Pointer);
                    _freeBytes -= _free[0].Bytes;
                    _free.RemoveAt(0);
                }

                return;
            }
        }

        Marshal.FreeHGlobal(block.Pointer);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_free)
        {
            _disposed = true;
            _free.ForEach(block => Marshal.FreeHGlobal(block.Pointer));
            _free.Clear();
            _freeBytes = 0;
        }
    }
}
