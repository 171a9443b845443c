using System.Text;
using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Storage.Tests.Support;

/// <summary>Opening stores, filling them and reaching under them with a separate connection (as an attacker would).</summary>
public static class Stores
{
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    public static Task<SqliteEvidenceStore> OpenAsync(string path, TimeProvider? time = null, TimeSpan? checkpointInterval = null) =>
        SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, CheckpointInterval = checkpointInterval ?? TimeSpan.Zero, BatchWindow = TimeSpan.Zero },
            time ?? new FakeTimeProvider(Start),
            CancellationToken.None);

    public static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Appends <paramref name="count"/> access records, alternating clients, advancing the clock a second each.</summary>
    public static async Task<List<long>> FillAsync(IRecordAppender store, int count, FakeTimeProvider? time = null, string[]? clients = null)
    {
        clients ??= ["alpha", "beta"];
        var indexes = new List<long>();
        for (var i = 0; i < count; i++)
        {
            time?.Advance(TimeSpan.FromSeconds(1));
            indexes.Add(await store.AppendAsync(RecordTypes.Access, clients[i % clients.Length], Json($$"""{"n":{{i}},"path":"/orders/{{i}}"}"""), CancellationToken.None));
        }

        return indexes;
    }

    /// <summary>Runs SQL against the store file behind its back.</summary>
    public static void Tamper(string path, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }

    public static T Query<T>(string path, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)command.ExecuteScalar()!;
    }
}
