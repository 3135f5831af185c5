using Microsoft.AspNetCore.Http.HttpResults;
using ModelMeter.AspNetCore.Http;

namespace ModelMeter.AspNetCore.Costs;

/// <summary>
/// Endpoint metadata: the query parameters a cost route reads. Any other is a 400 naming it, rather than an answer for
/// the default window that looks like the one asked for (<c>?since=</c>, the report command's word, is <c>from</c> here).
/// </summary>
internal sealed class QueryParameters(params string[] names)
{
    /// <summary>The problem with <paramref name="query"/>'s first parameter this route does not read; null when it reads them all.</summary>
    public ProblemHttpResult? Check(IQueryCollection query, string route)
    {
        foreach (var (name, _) in query)
        {
            if (!names.Contains(name, StringComparer.OrdinalIgnoreCase)) // as ASP.NET Core reads them
            {
                var takes = names.Length == 0 ? "it takes no parameters" : $"it takes {string.Join(", ", names)}";
                var hint = name.ToLowerInvariant() switch
                {
                    "since" or "start" or "begin" => " (the window's start is from)",
                    "until" or "end" => " (the window's end is to)",
                    _ => "",
                };
                return Problems.BadField(name, $"{route} has no parameter '{name}'{hint}; {takes}.");
            }
        }

        return null;
    }
}
