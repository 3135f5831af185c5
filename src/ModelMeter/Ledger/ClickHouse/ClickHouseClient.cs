using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ModelMeter.Ledger.ClickHouse;

/// <summary>
/// ClickHouse over its HTTP interface, the one place that talks to it: statements, gzip'd <c>JSONEachRow</c> inserts
/// and <c>JSONEachRow</c> results. Written against 18.16 (the oldest a test machine has), so no query parameters:
/// callers put only numbers and identifiers of their own into SQL, never text from requests.
/// </summary>
public sealed class ClickHouseClient(HttpClient http, Uri baseUrl, string? user = null, string? password = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Runs a statement that returns nothing (CREATE, ALTER, ...).</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(sql, null, cancellationToken);
    }

    /// <summary>Inserts <paramref name="rows"/> (objects serialized as JSON with their property names) into <paramref name="table"/> in one gzip'd request.</summary>
    public async Task InsertAsync<T>(string table, IEnumerable<T> rows, CancellationToken cancellationToken = default)
    {
        using var body = new MemoryStream();
        await using (var gzip = new GZipStream(body, CompressionLevel.Fastest, leaveOpen: true))
        {
            foreach (var row in rows)
            {
                await JsonSerializer.SerializeAsync(gzip, row, Json, cancellationToken);
                gzip.WriteByte((byte)'\n');
            }
        }

        var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await SendAsync($"INSERT INTO {table} FORMAT JSONEachRow", content, cancellationToken);
    }

    /// <summary>The rows of a SELECT, one JSON object each (the query must not name a FORMAT).</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryAsync(string sql, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(sql + " FORMAT JSONEachRow", null, cancellationToken);
        var rows = new List<JsonElement>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                rows.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
        }

        return rows;
    }

    private async Task<HttpResponseMessage> SendAsync(string sql, HttpContent? body, CancellationToken cancellationToken)
    {
        // The statement goes in the URL when a body carries the data; otherwise it is the body.
        var settings = "date_time_input_format=best_effort&output_format_json_quote_64bit_integers=0";
        var uri = body is null ? new Uri(baseUrl, $"?{settings}") : new Uri(baseUrl, $"?{settings}&query={Uri.EscapeDataString(sql)}");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = body ?? new StringContent(sql, Encoding.UTF8) };
        if (user is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            response.Dispose();
            throw new ClickHouseException($"ClickHouse answered {(int)response.StatusCode}: {text.Trim()}");
        }

        return response;
    }
}

/// <summary>ClickHouse refused a statement (its message says why).</summary>
public sealed class ClickHouseException(string message) : Exception(message);
