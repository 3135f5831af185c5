using System.Globalization;
using System.Runtime.InteropServices;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// The processor time of some of this process's threads, read from each thread's CPU-time clock (Linux's
/// <c>clock_gettime</c> on the clock of a thread id, which is exact to the nanosecond even while the thread runs, where
/// <c>/proc/self/task/ID/schedstat</c> moves only at the scheduler's ticks). Where there is no such clock (another
/// system), <see cref="CurrentThreadId"/> and <see cref="ThreadsNamed"/> find nothing, and no clock is made.
/// </summary>
internal sealed class ThreadCpuClock
{
    private readonly int[] _clocks;
    private readonly long[] _last;
    private long _total;

    /// <param name="threadIds">The threads whose time is summed (Linux thread ids).</param>
    public ThreadCpuClock(IEnumerable<int> threadIds)
    {
        _clocks = [.. threadIds.Distinct().Select(ClockOf)];
        _last = [.. _clocks.Select(clock => Read(clock) ?? -1)];
    }

    /// <summary>
    /// Whether threads' processor time can be read here: Linux, with a C library that has <c>clock_gettime</c> (where it
    /// cannot, a batched model reports its step time instead).
    /// </summary>
    public static bool IsSupported { get; } = Probe();

    /// <summary>How many threads are measured.</summary>
    public int Threads => _clocks.Length;

    /// <summary>The threads' processor time since this clock was made, seconds; a thread that has ended keeps what it had run.</summary>
    public double Seconds()
    {
        for (var i = 0; i < _clocks.Length; i++)
        {
            if (_last[i] >= 0 && Read(_clocks[i]) is { } ran && ran > _last[i])
            {
                _total += ran - _last[i];
                _last[i] = ran;
            }
        }

        return _total / 1e9;
    }

    /// <summary>The Linux id of the calling thread; null where <c>/proc/thread-self</c> cannot be read.</summary>
    public static int? CurrentThreadId()
    {
        try
        {
            // "/proc/thread-self" links to "PID/task/TID".
            return new FileInfo("/proc/thread-self").LinkTarget is { } target
                && int.TryParse(Path.GetFileName(target), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The ids of this process's threads whose name (<c>comm</c>, at most 15 bytes) is <paramref name="name"/>; none where it cannot be read.</summary>
    public static IReadOnlyList<int> ThreadsNamed(string name)
    {
        var ids = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == name
                        && int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                    {
                        ids.Add(id);
                    }
                }
                catch (IOException)
                {
                    // the thread ended while we looked
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        return ids;
    }

    private static bool Probe()
    {
        try
        {
            return CurrentThreadId() is { } id && Read(ClockOf(id)) is not null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// A thread's CPU-time clock, as glibc's <c>pthread_getcpuclockid</c> makes it: the complement of its id, shifted, with
    /// the per-thread bit (4) and the scheduler clock (2).
    /// </summary>
    private static int ClockOf(int threadId) => (~threadId << 3) | 6;

    /// <summary>The nanoseconds the thread of <paramref name="clock"/> has run; null once it has ended.</summary>
    private static long? Read(int clock) => ClockGetTime(clock, out var time) == 0 ? (time.Seconds * 1_000_000_000) + time.Nanoseconds : null;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);
}
