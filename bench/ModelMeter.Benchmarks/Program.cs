namespace ModelMeter.Benchmarks;

public static class Program
{
    /// <summary>BenchmarkDotNet's switcher, or with <c>scheduler</c> first the batch scheduler's load run (<see cref="SchedulerLoad"/>).</summary>
    public static async Task Main(string[] args)
    {
        if (args.FirstOrDefault() == "scheduler")
        {
            await SchedulerLoad.RunAsync(args[1..]);
            return;
        }

        BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
