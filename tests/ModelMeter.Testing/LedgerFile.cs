using Microsoft.Data.Sqlite;

namespace ModelMeter.Testing;

/// <summary>Reads a ledger file directly, as an auditor would.</summary>
public static class LedgerFile
{
    public static HashSet<string> RequestIds(string path) => Rows(path, "SELECT request_id FROM requests", r => r.GetString(0)).ToHashSet();

    public static double RequestCostUsd(string path) => Rows(path, "SELECT COALESCE(SUM(cost_usd), 0) FROM requests", r => r.GetDouble(0)).Single();

    public static double IdleCostUsd(string path) => Rows(path, "SELECT COALESCE(SUM(cost_usd), 0) FROM idle", r => r.GetDouble(0)).Single();

    /// <summary>Writes a SQLite database of another application at <paramref name="path"/>: one table, no ledger.</summary>
    public static void WriteOtherDatabase(string path, string table)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)";
        command.ExecuteNonQuery();
    }

    /// <summary>The names of the tables and indexes in the database at <paramref name="path"/>, comma-separated.</summary>
    public static string Schema(string path) => Rows(path, "SELECT group_concat(name) FROM sqlite_master", r => r.IsDBNull(0) ? "" : r.GetString(0)).Single();

    public static List<T> Rows<T>(string path, string sql, Func<SqliteDataReader, T> read)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }
}
