using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Storage.Export;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Chain;

public sealed class RetentionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _path;
    private readonly FakeTimeProvider _time = new(Stores.Start);
    private readonly ClientDefinition[] _clients =
    [
        Client("alpha", new DateOnly(2026, 6, 30)),
        Client("beta", new DateOnly(2030, 12, 31)),
    ];

    public RetentionTests() => _path = _dir.File("retention.db");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task BeforeRetentionEnds_NothingPurged()
    {
        await using var store = await Stores.OpenAsync(_path, _time);
        await FillAsync(store);
        _time.SetUtcNow(new DateTimeOffset(2032, 6, 30, 12, 0, 0, TimeSpan.Zero));

        var result = await Retention.PurgeExpiredAsync(store, _clients, _time, CancellationToken.None);

        Assert.Equal(0, result.PurgedCount);
        Assert.Equal(-1, result.PurgeRecordIndex);
        Assert.Equal(0, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE payload IS NULL"));
    }

    [Fact]
    public async Task AfterRetentionEnds_OnlyExpiredClientPurged_RecordedAndStillVerifies()
    {
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await FillAsync(store);
            _time.SetUtcNow(new DateTimeOffset(2032, 7, 1, 0, 0, 1, TimeSpan.Zero));

            var result = await Retention.PurgeExpiredAsync(store, _clients, _time, CancellationToken.None);

            Assert.Equal(5, result.PurgedCount);
            Assert.Equal(["alpha"], result.Clients);
            await store.AppendAsync(RecordTypes.Access, "beta", Stores.Json("""{"after":"purge"}"""), CancellationToken.None);
        }

        Assert.Equal(5, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE payload IS NULL"));
        Assert.Equal(0, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE payload IS NULL AND clients <> 'alpha'"));
        Assert.Equal(1, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE type = 'purge'"));
        var report = StoreVerifier.Verify(_path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);

        var export = _dir.File("after-purge.jsonl");
        using (var stream = File.Create(export))
        {
            EvidenceExport.Write(_path, new RecordQuery(), stream, _time.GetUtcNow(), CancellationToken.None);
        }

        var exported = ExportVerifier.Verify(export, CancellationToken.None);
        Assert.True(exported.IsIntact, exported.Problem?.Reason);
    }

    [Fact]
    public async Task PolicysContractEndLongPast_RecordsOfAccessMadeSinceAreKept()
    {
        // alpha is still served, but the policy was never updated after its contract was renewed: it says
        // the contract ended 2019-06-30 (records kept until 2025-06-30). Access recorded today happened
        // under a contract in force today, so it is kept at least six years from today.
        ClientDefinition[] clients = [Client("alpha", new DateOnly(2019, 6, 30)), Client("beta", new DateOnly(2030, 12, 31))];
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(Policies.Site(clients), PolicyLoadRecord.Start), CancellationToken.None);
            await Stores.FillAsync(store, 10, _time);
            _time.Advance(TimeSpan.FromDays(1));

            var result = await Retention.PurgeExpiredAsync(store, clients, _time, CancellationToken.None);

            Assert.Equal(0, result.PurgedCount);
            Assert.Equal(5, StoreFile.Read(_path, new RecordQuery { Client = "alpha", Type = RecordTypes.Access }).Count(r => r.Payload is not null));

            // Six years on they go (the contract's end, as the policy has it, is long past).
            _time.SetUtcNow(Stores.Start.AddYears(6).AddDays(2));
            Assert.Equal(5, (await Retention.PurgeExpiredAsync(store, clients, _time, CancellationToken.None)).PurgedCount);
        }

        Assert.True(StoreVerifier.Verify(_path, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task ContractEndMovedEarlier_RecordsMadeUnderTheLongerContractAreKept()
    {
        // Recorded in 2026 under a policy whose contract with alpha runs to 2035 (its records kept until 2041).
        ClientDefinition[] signed = [Client("alpha", new DateOnly(2035, 12, 31)), Client("beta", new DateOnly(2040, 12, 31))];
        // Seven years on, a policy (reloaded, or handed to 'segctl log purge') says alpha's contract ended in 2020.
        ClientDefinition[] later = [Client("alpha", new DateOnly(2020, 12, 31)), Client("beta", new DateOnly(2040, 12, 31))];
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(Policies.Site(signed), PolicyLoadRecord.Start), CancellationToken.None);
            await Stores.FillAsync(store, 10, _time);
            _time.SetUtcNow(new DateTimeOffset(2033, 6, 1, 9, 0, 0, TimeSpan.Zero));
            await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(Policies.Site(later), PolicyLoadRecord.Purge), CancellationToken.None);

            var result = await Retention.PurgeExpiredAsync(store, later, _time, CancellationToken.None);

            Assert.Equal(0, result.PurgedCount);
        }

        Assert.Equal(0, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE payload IS NULL"));
        Assert.Equal(0, StoreFile.CountPurgeable(_path, Retention.RetainUntil(Policies.Site(later)), new DateOnly(2033, 6, 1)).Records);
    }

    [Fact]
    public void PurgeByAnEarlierVersionUnderAContractEndMovedEarlier_FailsVerificationAtTheFirstRecordItEmptied()
    {
        // Written by the store before purges judged each record by the policy in force when it was made (Data/README.md):
        // alpha's records of 2026, made under a contract to 2035, emptied in 2033 under a policy saying it ended in 2020.
        var store = _dir.File("shortened.db");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Data", "purge-under-shortened-contract.db"), store);
        Assert.Equal(3, Stores.Query<long>(store, "SELECT count(*) FROM records WHERE payload IS NULL AND type = 'access'"));

        var report = StoreVerifier.Verify(store, CancellationToken.None);

        Assert.False(report.IsIntact);
        Assert.Equal(2, report.Problem!.Index);
        Assert.Equal(
            "payload was removed by purge record 9 before its retention ended: the policy in force when it was made (record 1) kept alpha's records until 2041-12-31 (contract end 2035-12-31 + 6 years), the purge ran on 2033-06-01",
            report.Problem.Reason);
        var export = _dir.File("shortened.jsonl");
        using (var stream = File.Create(export))
        {
            EvidenceExport.Write(store, new RecordQuery(), stream, _time.GetUtcNow(), CancellationToken.None);
        }

        Assert.Equal(2, ExportVerifier.Verify(export, CancellationToken.None).Problem?.Index);
    }

    [Fact]
    public async Task PayloadRemovedWithoutPurge_IsEvidenceDestroyed()
    {
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await FillAsync(store);
        }

        Stores.Tamper(_path, "UPDATE records SET payload = NULL WHERE idx = 4");

        var report = StoreVerifier.Verify(_path, CancellationToken.None);
        Assert.Equal(4, report.Problem!.Index);
        Assert.Contains("evidence destroyed", report.Problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SharedRecord_KeptWhileAnyClientRetains()
    {
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await store.AppendAsync(RecordTypes.Finding, "alpha,beta", Stores.Json("""{"rule":"cross-client-flow"}"""), CancellationToken.None);
            _time.SetUtcNow(new DateTimeOffset(2033, 1, 1, 0, 0, 0, TimeSpan.Zero));
            var result = await Retention.PurgeExpiredAsync(store, _clients, _time, CancellationToken.None);
            Assert.Equal(0, result.PurgedCount);
        }

        Assert.Equal(0, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE payload IS NULL"));
    }

    [Fact]
    public async Task EarlyPurge_FailsVerificationAtTheFirstPurgedRecord()
    {
        long firstAlpha;
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            // The policy in force keeps alpha's records until 2035-06-30 (contract end 2029-06-30 + 6 years). Recorded
            // after the records (none was on record when they were made), so the store's own purge does not see it
            // as the policy they were made under, and applies the retention it is given.
            firstAlpha = (await Stores.FillAsync(store, 10, _time))[0];
            await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(Policies.Site(Client("alpha", new DateOnly(2029, 6, 30)), Client("beta", new DateOnly(2030, 12, 31))), PolicyLoadRecord.Start), CancellationToken.None);
            _time.SetUtcNow(new DateTimeOffset(2032, 7, 1, 0, 0, 1, TimeSpan.Zero));

            // A purge that applies a retention the policy never had.
            var result = await store.PurgeExpiredAsync(new Dictionary<string, DateOnly> { ["alpha"] = new(2026, 6, 30) }, new DateOnly(2032, 7, 1), CancellationToken.None);
            Assert.Equal(5, result.PurgedCount);
        }

        var report = StoreVerifier.Verify(_path, CancellationToken.None);
        Assert.False(report.IsIntact);
        Assert.Equal(firstAlpha, report.Problem!.Index);
        Assert.Contains("before its retention ended", report.Problem.Reason, StringComparison.Ordinal);
        Assert.Contains("2035-06-30", report.Problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void PurgeByAnEarlierVersionOfRecordsYoungerThanSixYears_FailsVerificationAtTheFirstOfThem()
    {
        // Written by the store before purges kept what was made less than six years ago (Data/README.md):
        // its purge of 2026-03-02 applied alpha's retention as the policy had it (2025-06-30) and emptied
        // alpha's records of 2020 (lawful) and of 2026-03-01 (a day old); a lawful purge in 2032 came after.
        var store = _dir.File("early-purge.db");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Data", "early-purge-of-young-records.db"), store);
        Assert.Equal(7, Stores.Query<long>(store, "SELECT count(*) FROM records WHERE payload IS NULL AND type = 'access'"));

        var report = StoreVerifier.Verify(store, CancellationToken.None);

        Assert.False(report.IsIntact);
        Assert.Equal(5, report.Problem!.Index);
        Assert.Equal(
            "payload was removed by purge record 10 before its retention ended: the record was made on 2026-03-01 and is kept at least 6 years from then (until 2032-03-01), whatever the contract end; the purge ran on 2026-03-02",
            report.Problem.Reason);

        // An export carrying those records fails the same way; beta's, which shows none of them, verifies.
        var export = _dir.File("early-purge.jsonl");
        using (var stream = File.Create(export))
        {
            EvidenceExport.Write(store, new RecordQuery(), stream, _time.GetUtcNow(), CancellationToken.None);
        }

        var exported = ExportVerifier.Verify(export, CancellationToken.None);
        Assert.Equal(5, exported.Problem?.Index);
        Assert.Contains("purge record 10 before its retention ended", exported.Problem!.Reason, StringComparison.Ordinal);
        var alpha = ExportFrom(store, "alpha", "early-purge-alpha.jsonl");
        Assert.Equal(5, ExportVerifier.Verify(alpha, CancellationToken.None).Problem?.Index);
        var beta = ExportFrom(store, "beta", "early-purge-beta.jsonl");
        var betaReport = ExportVerifier.Verify(beta, CancellationToken.None);
        Assert.True(betaReport.IsIntact, betaReport.Problem?.Reason);
    }

    [Fact]
    public async Task YoungRecordAPurgeKept_EmptiedBehindTheStoresBack_IsEvidenceDestroyed()
    {
        long young;
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await FillAsync(store);

            // Made the day before alpha's purge: the purge covers it (its head is past it, alpha's retention
            // ended) but keeps it, being less than six years old.
            _time.SetUtcNow(new DateTimeOffset(2032, 6, 30, 12, 0, 0, TimeSpan.Zero));
            young = await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"made":"the day before"}"""), CancellationToken.None);
            _time.SetUtcNow(new DateTimeOffset(2032, 7, 1, 0, 0, 1, TimeSpan.Zero));
            Assert.Equal(5, (await Retention.PurgeExpiredAsync(store, _clients, _time, CancellationToken.None)).PurgedCount);
        }

        Assert.True(StoreVerifier.Verify(_path, CancellationToken.None).IsIntact);
        Stores.Tamper(_path, "UPDATE records SET payload = NULL WHERE idx = $idx", ("$idx", young));

        var report = StoreVerifier.Verify(_path, CancellationToken.None);
        Assert.Equal(young, report.Problem?.Index);
        Assert.Contains("evidence destroyed", report.Problem!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PurgeDatedAfterItWasRecorded_FailsVerification()
    {
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await Stores.FillAsync(store, 4, _time);

            // The store's clock says 2026; the purge claims to run in 2040.
            var result = await store.PurgeExpiredAsync(new Dictionary<string, DateOnly> { ["alpha"] = new(2032, 6, 30) }, new DateOnly(2040, 1, 1), CancellationToken.None);
            Assert.Equal(2, result.PurgedCount);
        }

        var report = StoreVerifier.Verify(_path, CancellationToken.None);
        Assert.False(report.IsIntact);
        Assert.Contains("dated 2040-01-01 but was recorded on 2026-03-01", report.Problem!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WindowExportOverPurgedRecords_ReachesThePurgeRecord_AndVerifiesAlone()
    {
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await FillAsync(store);
            await store.CheckpointAsync(CancellationToken.None);
            _time.SetUtcNow(new DateTimeOffset(2032, 7, 1, 0, 0, 1, TimeSpan.Zero));
            Assert.Equal(5, (await Retention.PurgeExpiredAsync(store, _clients, _time, CancellationToken.None)).PurgedCount);
            await store.CheckpointAsync(CancellationToken.None);
            await Stores.FillAsync(store, 4, _time);
        }

        var export = _dir.File("window.jsonl");
        using (var stream = File.Create(export))
        {
            EvidenceExport.Write(_path, new RecordQuery { From = Stores.Start.AddSeconds(3), To = Stores.Start.AddSeconds(6) }, stream, _time.GetUtcNow(), CancellationToken.None);
        }

        var lines = File.ReadAllLines(export);
        Assert.Contains(lines, l => l.Contains("\"type\":\"purge\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("\"purged\":true", StringComparison.Ordinal));
        var report = ExportVerifier.Verify(export, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task ClientExport_CarriesInFullOnlyThePurgesVouchingForItsOwnPurgedRecords_AndVerifies()
    {
        ClientDefinition[] clients = [Client("alpha", new DateOnly(2026, 6, 30)), Client("beta", new DateOnly(2030, 12, 31)), Client("gamma", new DateOnly(2026, 3, 31))];
        string beforeAlphasPurge;
        long gammasPurge, alphasPurge;
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(Policies.Site(clients), PolicyLoadRecord.Start), CancellationToken.None);
            await Stores.FillAsync(store, 6, _time, ["alpha", "gamma", "beta"]);

            // gamma's retention ends first: its purge names gamma alone.
            _time.SetUtcNow(new DateTimeOffset(2032, 4, 15, 0, 0, 0, TimeSpan.Zero));
            var first = await Retention.PurgeExpiredAsync(store, clients, _time, CancellationToken.None);
            Assert.Equal(2, first.PurgedCount);
            gammasPurge = first.PurgeRecordIndex;
            beforeAlphasPurge = ExportFor("alpha", "before.jsonl");

            // Then alpha's: this purge names every client whose retention had ended, gamma too.
            _time.SetUtcNow(new DateTimeOffset(2032, 7, 15, 0, 0, 0, TimeSpan.Zero));
            var second = await Retention.PurgeExpiredAsync(store, clients, _time, CancellationToken.None);
            Assert.Equal(2, second.PurgedCount);
            alphasPurge = second.PurgeRecordIndex;
        }

        // None of alpha's records purged yet: no purge is needed to verify its export, none is shown.
        var lines = File.ReadAllLines(beforeAlphasPurge);
        Assert.DoesNotContain("gamma", File.ReadAllText(beforeAlphasPurge), StringComparison.Ordinal);
        Assert.Equal("link", KindOf(lines, gammasPurge));
        var report = ExportVerifier.Verify(beforeAlphasPurge, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);

        // alpha's records purged: the purge vouching for them is shown in full (verification needs its
        // body), gamma's earlier purge, which vouches for nothing shown, still is not.
        var after = ExportFor("alpha", "after.jsonl");
        lines = File.ReadAllLines(after);
        Assert.Equal(2, lines.Count(l => l.Contains("\"purged\":true", StringComparison.Ordinal)));
        Assert.Equal("record", KindOf(lines, alphasPurge));
        Assert.Equal("link", KindOf(lines, gammasPurge));
        Assert.DoesNotContain("gamma", File.ReadAllText(after), StringComparison.Ordinal);
        report = ExportVerifier.Verify(after, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task TwoClientsPurgedAtOnce_EachClientsExportShowsAPurgeNamingItAlone_SharedRecordsPurgeWithheld_AllVerify()
    {
        ClientDefinition[] clients = [Client("alpha", new DateOnly(2026, 6, 30)), Client("beta", new DateOnly(2030, 12, 31)), Client("gamma", new DateOnly(2026, 3, 31))];
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(Policies.Site(clients), PolicyLoadRecord.Start), CancellationToken.None);
            await Stores.FillAsync(store, 6, _time, ["alpha", "gamma", "beta"]);
            await store.AppendAsync(RecordTypes.Finding, "alpha,gamma", Stores.Json("""{"rule":"cross-client-flow"}"""), CancellationToken.None);
            await Stores.FillAsync(store, 3, _time, ["gamma", "alpha", "beta"]);

            // Both alpha's and gamma's retention have ended by the purge's date.
            _time.SetUtcNow(new DateTimeOffset(2032, 7, 15, 0, 0, 0, TimeSpan.Zero));
            var purge = await Retention.PurgeExpiredAsync(store, clients, _time, CancellationToken.None);
            Assert.Equal(7, purge.PurgedCount);
            Assert.Equal(["alpha", "gamma"], purge.Clients);
        }

        // One purge record per client, and one for the record of both, after theirs.
        var purges = StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.Purge })
            .Select(r => System.Text.Json.JsonDocument.Parse(r.Payload!.Value).RootElement.GetProperty("clients").EnumerateObject().Select(p => p.Name).ToArray())
            .ToArray();
        Assert.Equal([["alpha"], ["gamma"], ["alpha", "gamma"]], purges);
        var stored = StoreVerifier.Verify(_path, CancellationToken.None);
        Assert.True(stored.IsIntact, stored.Problem?.Reason);

        foreach (var (client, other) in new[] { ("alpha", "gamma"), ("gamma", "alpha") })
        {
            var export = ExportFor(client, client + ".jsonl");
            var text = File.ReadAllText(export);
            Assert.Equal(3, File.ReadAllLines(export).Count(l => l.Contains("\"purged\":true", StringComparison.Ordinal)));
            Assert.Contains($"\"type\":\"purge\"", text, StringComparison.Ordinal);
            Assert.DoesNotContain(other, text, StringComparison.Ordinal);
            var report = ExportVerifier.Verify(export, CancellationToken.None);
            Assert.True(report.IsIntact, report.Problem?.Reason);
        }

        var site = _dir.File("site.jsonl");
        using (var stream = File.Create(site))
        {
            EvidenceExport.Write(_path, new RecordQuery(), stream, _time.GetUtcNow(), CancellationToken.None);
        }

        var siteReport = ExportVerifier.Verify(site, CancellationToken.None);
        Assert.True(siteReport.IsIntact, siteReport.Problem?.Reason);
    }

    /// <summary>How the export represents record <paramref name="index"/> (the head line names an index too).</summary>
    private static string? KindOf(IEnumerable<string> lines, long index)
    {
        var kinds = new List<string?>();
        foreach (var line in lines)
        {
            using var document = System.Text.Json.JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.GetProperty("kind").GetString() is "record" or "link" && root.GetProperty("index").GetInt64() == index)
            {
                kinds.Add(root.GetProperty("kind").GetString());
            }
        }

        return Assert.Single(kinds);
    }

    private string ExportFor(string client, string name) => ExportFrom(_path, client, name);

    private string ExportFrom(string store, string client, string name)
    {
        var export = _dir.File(name);
        using var stream = File.Create(export);
        EvidenceExport.Write(store, new RecordQuery { Client = client }, stream, _time.GetUtcNow(), CancellationToken.None);
        return export;
    }

    private async Task FillAsync(SqliteEvidenceStore store)
    {
        await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(Policies.Site(_clients), PolicyLoadRecord.Start), CancellationToken.None);
        await Stores.FillAsync(store, 10, _time);
        await store.AppendAsync(RecordTypes.Finding, "alpha,beta", Stores.Json("""{"rule":"cross-client-flow"}"""), CancellationToken.None);
    }

    private static ClientDefinition Client(string id, DateOnly contractEnd) => new()
    {
        Id = id,
        Name = id,
        ContractEnd = contractEnd,
        Segments = [],
    };
}
