using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace ModelMeter.AspNetCore.Http;

/// <summary>
/// Finds the strings of a parsed JSON document that cannot be read as text. A parser takes them (the syntax is right),
/// but reading one as a .NET string throws: bytes that are not UTF-8, or an escaped UTF-16 surrogate without its pair
/// (<c>"\ud800"</c>). A client's body or an upstream's answer is checked once, before any of its strings is read.
/// </summary>
internal static class JsonText
{
    /// <summary>
    /// The path of the first string (a value or a property name) in <paramref name="element"/> that cannot be read as text,
    /// as <c>$.messages[0].content</c>; null when every string can.
    /// </summary>
    public static string? FindUnreadable(JsonElement element)
    {
        List<string>? path = null; // made only for a string that cannot be read: a readable body allocates nothing here
        return Unreadable(element, ref path) ? "$" + string.Concat(Enumerable.Reverse(path ?? [])) : null;
    }

    /// <summary>
    /// The path of the first property whose name its object has already used, as <c>$.messages[0].role</c>; null when no
    /// object names a property twice. Parsers disagree on such a body (most keep the last, some the first, some refuse
    /// it), so a proxy in front and ModelMeter could read two different models from one request. Call it on readable
    /// documents only (<see cref="FindUnreadable"/> first): it reads every name.
    /// </summary>
    public static string? FindDuplicate(JsonElement element)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        List<string>? path = null;
        return Duplicate(element, seen, ref path) ? "$" + string.Concat(Enumerable.Reverse(path!)) : null;
    }

    private static bool Duplicate(JsonElement element, HashSet<string> seen, ref List<string>? path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Duplicate(item, seen, ref path))
                    {
                        path!.Add($"[{index}]");
                        return true;
                    }

                    index++;
                }

                return false;
            case JsonValueKind.Object:
                seen.Clear();
                foreach (var property in element.EnumerateObject())
                {
                    if (!seen.Add(property.Name))
                    {
                        path = ["." + property.Name];
                        return true;
                    }
                }

                foreach (var property in element.EnumerateObject())
                {
                    if (Duplicate(property.Value, seen, ref path))
                    {
                        path!.Add("." + property.Name);
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary>Whether <paramref name="element"/> holds an unreadable string; if so, <paramref name="path"/> holds its steps, innermost first (null when it is <paramref name="element"/> itself).</summary>
    private static bool Unreadable(JsonElement element, ref List<string>? path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return Scan(JsonMarshal.GetRawUtf8Value(element)) switch
                {
                    Raw.Readable => false,
                    Raw.Unreadable => true,
                    _ => !Decodes(element),
                };
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Unreadable(item, ref path))
                    {
                        (path ??= []).Add($"[{index}]");
                        return true;
                    }

                    index++;
                }

                return false;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (Scan(JsonMarshal.GetRawUtf8PropertyName(property)) is var name && (name == Raw.Unreadable || (name == Raw.Escaped && !Decodes(property))))
                    {
                        return true; // the name cannot be shown: the path ends at its object
                    }

                    if (Unreadable(property.Value, ref path))
                    {
                        (path ??= []).Add("." + property.Name);
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    private enum Raw
    {
        Readable,
        Unreadable,
        Escaped,
    }

    /// <summary>
    /// A string as it stands in the document: valid UTF-8 without an escaped code unit (<c>\u</c>) can be read; bytes that
    /// are not UTF-8 cannot; escapes are read to see whether their surrogates pair up.
    /// </summary>
    private static Raw Scan(ReadOnlySpan<byte> raw) =>
        !Utf8.IsValid(raw) ? Raw.Unreadable : raw.IndexOf("\\u"u8) < 0 ? Raw.Readable : Raw.Escaped;

    /// <summary>Whether a string value with escapes can be read.</summary>
    private static bool Decodes(JsonElement value)
    {
        try
        {
            _ = value.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Whether a property name with escapes can be read.</summary>
    private static bool Decodes(JsonProperty property)
    {
        try
        {
            _ = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
