using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace ModelMeter.AspNetCore.Configuration;

/// <summary>
/// Values the configuration binder cannot convert, said the way the validator says every other problem: the key, what it
/// holds, what it should hold. The binder throws for a bad value of a plain setting (<c>Ledger:Durability</c>), but drops
/// an entry of a named collection (a device, a model, a tenant) whose value is bad, without a word: those are found by
/// binding each missing entry on its own.
/// </summary>
internal static partial class ConfigurationErrors
{
    /// <summary>
    /// The binder's failure to convert a value as <c>KEY: 'VALUE' is not WHAT.</c>; null for any other failure.
    /// </summary>
    public static string? Describe(Exception failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            if (e is InvalidOperationException && ConversionFailed().Match(e.Message) is { Success: true } match)
            {
                return $"{match.Groups["key"].Value}: '{match.Groups["value"].Value}' is not {Expected(match.Groups["type"].Value)}.";
            }
        }

        return null;
    }

    /// <summary>
    /// The entries of <paramref name="section"/> that the binder left out of <paramref name="bound"/>, each described by
    /// binding it alone as <typeparamref name="T"/>.
    /// </summary>
    public static IEnumerable<string> Dropped<T>(IConfiguration section, IReadOnlyDictionary<string, T> bound)
    {
        foreach (var entry in section.GetChildren())
        {
            if (bound.ContainsKey(entry.Key))
            {
                continue;
            }

            yield return BoundAlone<T>(entry) ?? $"{entry.Path}: cannot be read (an empty section, or a value where settings go).";
        }
    }

    /// <summary>
    /// The items of the list <paramref name="section"/> that the binder left out (it bound <paramref name="bound"/> of them),
    /// each described by binding it alone as <typeparamref name="T"/>.
    /// </summary>
    public static IEnumerable<string> Dropped<T>(IConfiguration section, int bound)
    {
        var items = section.GetChildren().ToList();
        if (items.Count <= bound)
        {
            yield break;
        }

        foreach (var item in items)
        {
            if (BoundAlone<T>(item) is { } problem)
            {
                yield return problem;
            }
        }
    }

    /// <summary>
    /// The settings of an enum type under <paramref name="section"/> (bound as <paramref name="type"/>, its collections and
    /// nested settings included) that do not hold one of the enum's names. The binder converts an enum as
    /// <see cref="Enum.Parse(Type, string, bool)"/> does, so it takes a number (<c>"7"</c>, no value at all) and a list
    /// (<c>"Cpu,Gpu"</c>, the two or-ed into <c>Gpu</c>) without a word.
    /// </summary>
    public static IEnumerable<string> NotNamed(IConfiguration section, Type type)
    {
        foreach (var property in type.GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
        {
            if (property.SetMethod is not { IsPublic: true } && !IsCollection(property.PropertyType))
            {
                continue;
            }

            var setting = section.GetSection(property.Name);
            foreach (var problem in NotNamedIn(setting, property.PropertyType))
            {
                yield return problem;
            }
        }
    }

    private static IEnumerable<string> NotNamedIn(IConfigurationSection setting, Type type)
    {
        if (!setting.Exists())
        {
            yield break; // nothing written there (and no walk into types that refer to themselves)
        }

        var enumType = Nullable.GetUnderlyingType(type) ?? type;
        if (enumType.IsEnum)
        {
            var names = Enum.GetNames(enumType);
            if (setting.Value is { Length: > 0 } text && !names.Any(n => string.Equals(n, text.Trim(), StringComparison.OrdinalIgnoreCase)))
            {
                yield return $"{setting.Path}: '{text}' is not one of {string.Join(", ", names)}.";
            }

            yield break;
        }

        if (ItemType(type) is { } item)
        {
            foreach (var entry in setting.GetChildren())
            {
                foreach (var problem in NotNamedIn(entry, item))
                {
                    yield return problem;
                }
            }
        }
        else if (type.IsClass && type.Namespace?.StartsWith("ModelMeter", StringComparison.Ordinal) == true)
        {
            foreach (var problem in NotNamed(setting, type))
            {
                yield return problem;
            }
        }
    }

    private static bool IsCollection(Type type) => ItemType(type) is not null;

    /// <summary>The value type of a dictionary or the item type of a list or array; null for anything else.</summary>
    private static Type? ItemType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (!type.IsGenericType || type == typeof(string))
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        var arguments = type.GetGenericArguments();
        return definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>) ? arguments[1]
            : definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(IReadOnlyList<>) || definition == typeof(IEnumerable<>) ? arguments[0]
            : null;
    }

    /// <summary>What binding <paramref name="entry"/> alone as <typeparamref name="T"/> fails on; null when it binds.</summary>
    private static string? BoundAlone<T>(IConfigurationSection entry)
    {
        try
        {
            entry.Get<T>();
            return null;
        }
        catch (InvalidOperationException e)
        {
            return Describe(e) ?? $"{entry.Path}: {e.Message}";
        }
    }

    /// <summary>What a value of the binder's type name should be, in the words of a configuration file.</summary>
    private static string Expected(string type)
    {
        var name = type.StartsWith("System.Nullable`1[[", StringComparison.Ordinal) ? type[19..type.IndexOf(',', StringComparison.Ordinal)] : type;
        return name switch
        {
            "System.Int32" or "System.Int64" or "System.Int16" or "System.UInt32" or "System.UInt64" => "a whole number",
            "System.Double" or "System.Single" or "System.Decimal" => "a number",
            "System.Boolean" => "true or false",
            "System.TimeSpan" => "a duration (hh:mm:ss)",
            "System.DateTimeOffset" or "System.DateTime" => "a date and time (ISO 8601, 2026-11-26T00:00:00Z)",
            "System.Uri" => "a URL",
            _ when EnumNamed(name) is { } names => $"one of {string.Join(", ", names)}",
            _ => $"a {name[(name.LastIndexOf('.') + 1)..]}",
        };
    }

    /// <summary>The names of the enum called <paramref name="fullName"/> in ModelMeter's assemblies, or null.</summary>
    private static string[]? EnumNamed(string fullName) =>
        AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => a.GetName().Name?.StartsWith("ModelMeter", StringComparison.Ordinal) == true)
            .Select(a => a.GetType(fullName))
            .FirstOrDefault(t => t is { IsEnum: true }) is { } enumType ? Enum.GetNames(enumType) : null;

    [GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']*)' to type '(?<type>[^']*)'\.", RegexOptions.Singleline)]
    private static partial Regex ConversionFailed();
}
