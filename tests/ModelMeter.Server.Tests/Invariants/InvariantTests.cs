namespace ModelMeter.Server.Tests.Invariants;

/// <summary>The promise under a random mix of everything at once: one row per answer, every token billed, rows + idle = the bill.</summary>
public sealed class InvariantTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public Task EveryEntryPointAtOnce_SeededRandomTraffic_ThePromiseHolds(int seed) => new InvariantHarness(SeedFrom(seed)).RunAsync();

    /// <summary><c>MODELMETER_HARNESS_SEED</c> (for <c>eng/soak.sh</c> or a failure to replay) replaces the seed when set.</summary>
    private static int SeedFrom(int seed) => int.TryParse(Environment.GetEnvironmentVariable("MODELMETER_HARNESS_SEED"), out var chosen) ? chosen + seed - 1 : seed;
}
