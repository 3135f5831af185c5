namespace ModelMeter.Allocation;

/// <summary>What a device spends, or a share of it: US dollars, joules and grams of CO2e, split together.</summary>
/// <param name="Usd">US dollars.</param>
/// <param name="Joules">Energy, joules (0 where the device has no energy source).</param>
/// <param name="Co2eGrams">Carbon, grams of CO2e (the joules at the grid's intensity then).</param>
public readonly record struct DeviceShare(double Usd, double Joules, double Co2eGrams)
{
    /// <summary>The sum, part by part.</summary>
    public static DeviceShare operator +(DeviceShare a, DeviceShare b) => new(a.Usd + b.Usd, a.Joules + b.Joules, a.Co2eGrams + b.Co2eGrams);

    /// <summary>The difference, part by part.</summary>
    public static DeviceShare operator -(DeviceShare a, DeviceShare b) => new(a.Usd - b.Usd, a.Joules - b.Joules, a.Co2eGrams - b.Co2eGrams);

    /// <summary>Each part times <paramref name="k"/>.</summary>
    public static DeviceShare operator *(DeviceShare a, double k) => new(a.Usd * k, a.Joules * k, a.Co2eGrams * k);

    /// <summary>Each part over <paramref name="k"/>.</summary>
    public static DeviceShare operator /(DeviceShare a, double k) => new(a.Usd / k, a.Joules / k, a.Co2eGrams / k);
}
