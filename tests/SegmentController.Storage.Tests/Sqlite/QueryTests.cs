using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Sqlite;

/// <summary>Typed and windowed reads on a real store: the right records, through the indexes rather than whole-table scans.</summary>
public sealed class QueryTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Stores.Start);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task WindowAndTypeReads_ReturnExactlyTheWindow()
    {
        var path = _dir.File("query.db");
        await using (var store = await Stores.OpenAsync(path, _time))
        {
            await Stores.FillAsync(store, 40, _time);
            await store.AppendAsync(RecordTypes.Finding, "alpha", Stores.Json("""{"rule":"x"}"""), CancellationToken.None);
        }

        var from = Stores.Start.AddSeconds(10);
        var to = Stores.Start.AddSeconds(19);
        var window = StoreFile.Read(path, new RecordQuery { From = from, To = to });
        Assert.Equal(10, window.Count);
        Assert.All(window, r => Assert.InRange(r.Time, from, to));

        var typed = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access, Client = "alpha", From = from });
        Assert.Equal(15, typed.Count);
        Assert.Empty(StoreFile.Read(path, new RecordQuery { From = Stores.Start.AddDays(1) }));
        Assert.Empty(StoreFile.Read(path, new RecordQuery { To = Stores.Start.AddDays(-1) }));

        Assert.Equal(10, StoreFile.CountConcerning(path, RecordTypes.Access, ["alpha", "beta"], from, to));
        Assert.Equal(5, StoreFile.CountConcerning(path, RecordTypes.Access, ["beta"], from, to));
        Assert.Equal(0, StoreFile.CountConcerning(path, RecordTypes.Access, ["gamma"], from, to));
    }

    [Fact]
    public async Task TypedWindowQuery_UsesTheTypeTimeIndex()
    {
        var path = _dir.File("plan.db");
        await using (var store = await Stores.OpenAsync(path, _time))
        {
            await Stores.FillAsync(store, 3, _time);
        }

        Assert.Equal("4", Stores.Query<string>(path, "SELECT value FROM meta WHERE key = 'schema'"));
        var plan = Plan(path, "SELECT clients, count(*) FROM records WHERE type = 'access' AND time >= 0 AND time <= 1 GROUP BY clients");
        Assert.Contains("records_type_time", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NewestFirstReads_ReturnTheSameRecordsAsChainOrderReversed()
    {
        var path = _dir.File("newest.db");
        await using (var store = await Stores.OpenAsync(path, _time))
        {
            for (var i = 0; i < 30; i++)
            {
                await Stores.FillAsync(store, 2, _time);
                await store.AppendAsync(RecordTypes.Finding, i % 3 == 0 ? "alpha" : "beta", Stores.Json($$"""{"n":{{i}}}"""), CancellationToken.None);
            }

            // Several records sharing one stamp: order among them is still the chain's.
            for (var i = 0; i < 4; i++)
            {
                await store.AppendAsync(RecordTypes.Finding, "alpha", Stores.Json($$"""{"same":{{i}}}"""), CancellationToken.None);
            }
        }

        var from = Stores.Start.AddSeconds(12);
        var to = Stores.Start.AddSeconds(47);
        RecordQuery[] queries =
        [
            new(),
            new() { Type = RecordTypes.Finding },
            new() { Type = RecordTypes.Finding, From = from, To = to },
            new() { Type = RecordTypes.Access, Client = "beta", To = to },
            new() { From = from },
            new() { From = from, To = to, Client = "alpha" },
            new() { Type = RecordTypes.Finding, From = Stores.Start.AddDays(1) },
            new() { To = Stores.Start.AddDays(-1) },
        ];
        foreach (var query in queries)
        {
            var chainOrder = StoreFile.Read(path, query).Select(r => r.Index).ToList();
            var newestFirst = StoreFile.Read(path, query with { NewestFirst = true }).Select(r => r.Index).ToList();
            chainOrder.Reverse();
            Assert.True(chainOrder.SequenceEqual(newestFirst), $"{query}: expected [{string.Join(", ", chainOrder)}], read [{string.Join(", ", newestFirst)}]");
        }

        Assert.NotEmpty(StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Finding, From = from, To = to, NewestFirst = true }));
    }

    [Fact]
    public async Task NewestFirstTypedRead_WalksTheTypeTimeIndexBackwardsWithoutSorting()
    {
        var path = _dir.File("newest-plan.db");
        await using (var store = await Stores.OpenAsync(path, _time))
        {
            await Stores.FillAsync(store, 3, _time);
        }

        using var reader = StoreReader.Open(path);
        foreach (var query in new[]
        {
            new RecordQuery { Type = RecordTypes.AuditResult, NewestFirst = true },
            new RecordQuery { Type = RecordTypes.AuditResult, To = Stores.Start.AddSeconds(2), NewestFirst = true },
        })
        {
            var plan = reader.Explain(RecordSelection.NewestFirstSql(reader, query)!, command => RecordSelection.Bind(command, query));
            Assert.Contains("USING INDEX records_type_time", plan, StringComparison.Ordinal);
            Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
        }

        var untyped = new RecordQuery { From = Stores.Start.AddSeconds(2), NewestFirst = true };
        var untypedPlan = reader.Explain(RecordSelection.NewestFirstSql(reader, untyped)!, command => RecordSelection.Bind(command, untyped));
        Assert.Contains("INTEGER PRIMARY KEY", untypedPlan, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", untypedPlan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoreFromBeforeTheIndexes_GainsThemWhenTheWriterOpensIt()
    {
        var path = _dir.File("old.db");
        await using (var store = await Stores.OpenAsync(path, _time))
        {
            await Stores.FillAsync(store, 5, _time);
            await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""[{"n":1},{"n":"a,b]"},[2,3]]"""), CancellationToken.None);
        }

        // As a store made by the first schema: no index, no entries column, no schema row.
        Stores.Tamper(path, "DROP INDEX records_type_time");
        Stores.Tamper(path, "ALTER TABLE records DROP COLUMN entries");
        Stores.Tamper(path, "DELETE FROM meta WHERE key = 'schema'");
        Assert.DoesNotContain("records_type_time", Plan(path, "SELECT * FROM records WHERE type = 'access' AND time > 0"), StringComparison.Ordinal);

        // Readers take it as it is: it verifies, and its array counts once.
        Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
        var before = StoreFile.CountConcerning(path, RecordTypes.Access, ["alpha"], DateTimeOffset.MinValue, DateTimeOffset.MaxValue);

        await using (var store = await Stores.OpenAsync(path, _time))
        {
            await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("{}"), CancellationToken.None);
        }

        Assert.Contains("records_type_time", Plan(path, "SELECT * FROM records WHERE type = 'access' AND time > 0"), StringComparison.Ordinal);
        Assert.Equal("4", Stores.Query<string>(path, "SELECT value FROM meta WHERE key = 'schema'"));
        Assert.Equal(3, Stores.Query<long>(path, "SELECT entries FROM records WHERE entries IS NOT NULL"));

        // The migration gave the older array its count: it now counts three (one before), and the new record one.
        Assert.Equal(before + 3, StoreFile.CountConcerning(path, RecordTypes.Access, ["alpha"], DateTimeOffset.MinValue, DateTimeOffset.MaxValue));
        Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
    }

    private static string Plan(string path, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        using var reader = command.ExecuteReader();
        var plan = new List<string>();
        while (reader.Read())
        {
            plan.Add(reader.GetString(3));
        }

        return string.Join('\n', plan);
    }
}
