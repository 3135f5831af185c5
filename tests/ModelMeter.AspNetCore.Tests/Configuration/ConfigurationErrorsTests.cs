using Microsoft.Extensions.Configuration;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.AspNetCore.Tests.Configuration;

public sealed class ConfigurationErrorsTests
{
    [Fact]
    public void DeviceWithAValueOfTheWrongKind_DroppedByTheBinder_IsNamed()
    {
        var section = Section(("Devices:cpu:HourlyUsd", "abc"), ("Devices:gpu:HourlyUsd", "2.5"));
        var options = section.Get<ModelMeterOptions>()!;

        Assert.Equal(["gpu"], options.Devices.Keys); // what the binder does without a word
        Assert.Equal(["ModelMeter:Devices:cpu:HourlyUsd: 'abc' is not a number."], ConfigurationErrors.Dropped(section.GetSection("Devices"), options.Devices));
    }

    [Fact]
    public void BudgetWithAValueOfTheWrongKind_DroppedFromTheList_IsNamed()
    {
        var section = Section(("Budgets:0:Name", "a"), ("Budgets:0:LimitUsd", "5"), ("Budgets:1:Name", "b"), ("Budgets:1:LimitUsd", "lots"));
        var options = section.Get<ModelMeterOptions>()!;

        Assert.Single(options.Budgets);
        Assert.Equal(["ModelMeter:Budgets:1:LimitUsd: 'lots' is not a number."], ConfigurationErrors.Dropped<BudgetOptions>(section.GetSection("Budgets"), options.Budgets.Count));
    }

    [Fact]
    public void EverythingBound_NothingNamed()
    {
        var section = Section(("Devices:cpu:HourlyUsd", "0.17"), ("Budgets:0:Name", "a"), ("Budgets:0:LimitUsd", "5"));
        var options = section.Get<ModelMeterOptions>()!;

        Assert.Empty(ConfigurationErrors.Dropped(section.GetSection("Devices"), options.Devices));
        Assert.Empty(ConfigurationErrors.Dropped<BudgetOptions>(section.GetSection("Budgets"), options.Budgets.Count));
    }

    [Theory]
    [InlineData("Ledger:Durability", "Sometimes", "ModelMeter:Ledger:Durability: 'Sometimes' is not one of Strict, Relaxed.")]
    [InlineData("Auth:Enabled", "yes", "ModelMeter:Auth:Enabled: 'yes' is not true or false.")]
    [InlineData("Limits:MaxTokens", "1.5", "ModelMeter:Limits:MaxTokens: '1.5' is not a whole number.")]
    public void PlainSettingOfTheWrongKind_TheBindersFailure_SaidAsTheValidatorSaysIt(string key, string value, string message)
    {
        var failure = Assert.Throws<InvalidOperationException>(() => Section((key, value)).Get<ModelMeterOptions>());

        Assert.Equal(message, ConfigurationErrors.Describe(failure));
    }

    [Fact]
    public void EnumsWrittenAsANumberOrAList_BoundWithoutAWord_AreNamedWhereverTheyAre()
    {
        var section = Section(
            ("Devices:cpu:Kind", "Cpu,Gpu"), ("Allocation:Method", "7"), ("Ledger:Durability", "1"),
            ("Budgets:0:Name", "a"), ("Budgets:0:LimitUsd", "5"), ("Budgets:0:Scope", "Model,Tenant"), ("Budgets:0:Period", "month"));
        var options = section.Get<ModelMeterOptions>()!;

        Assert.Equal(DeviceKind.Gpu, options.Devices["cpu"].Kind); // Cpu|Gpu: what the binder makes of a list
        Assert.Equal(
            [
                "ModelMeter:Devices:cpu:Kind: 'Cpu,Gpu' is not one of Cpu, Gpu.",
                "ModelMeter:Allocation:Method: '7' is not one of SharedTime, Latency.",
                "ModelMeter:Ledger:Durability: '1' is not one of Strict, Relaxed.",
                "ModelMeter:Budgets:0:Scope: 'Model,Tenant' is not one of Global, Model, Tenant.",
            ],
            ConfigurationErrors.NotNamed(section, typeof(ModelMeterOptions)));
    }

    [Fact]
    public void EnumsWrittenAsNames_InAnyCase_NothingNamed()
    {
        var section = Section(("Devices:cpu:Kind", "gpu"), ("Allocation:Method", "Latency"), ("Budgets:0:Scope", " tenant "), ("BudgetStore:OnUnavailable", "Closed"));

        Assert.Empty(ConfigurationErrors.NotNamed(section, typeof(ModelMeterOptions)));
    }

    [Fact]
    public void OtherFailures_AreNotDescribed() =>
        Assert.Null(ConfigurationErrors.Describe(new InvalidOperationException("Something else went wrong.")));

    private static IConfigurationSection Section(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>($"ModelMeter:{s.Key}", s.Value)))
            .Build()
            .GetSection(ModelMeterOptions.Section);
}
