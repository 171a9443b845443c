using System.Security.Cryptography.X509Certificates;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Incidents;

/// <summary>
/// An incident is recorded whole at every change, and a record has a limit: findings from a sweep across another
/// client's addresses, and an operator's notes, must never make an incident's next change unrecordable. A real store
/// with a small record limit, so that a few hundred findings reach it.
/// </summary>
public sealed class IncidentBoundsTests : IDisposable
{
    // The store's limit for one record, and the manager's bound under it.
    private const int StoreLimit = 96 * 1024;
    private const int Bound = 64 * 1024;

    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Stores.Start);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task FindingsFromASweep_EveryOneJoinsAndIsRecorded_RecordsStayWithinTheBound_NothingOfTheTimelineMissingFromTheChain()
    {
        var path = _dir.File("sweep.db");
        const int Flows = 400;
        Incident last;
        await using (var store = await OpenAsync(path))
        {
            using var manager = Manager(store);
            for (var port = 0; port < Flows; port++)
            {
                _time.Advance(TimeSpan.FromSeconds(1));
                await manager.RecordFindingsAsync([Flow("alpha", "beta", port)], CancellationToken.None);
            }

            last = Assert.Single(manager.Incidents);
        }

        // Every finding joined the one incident: 20 kept, the rest counted.
        Assert.Equal(20, last.Findings.Count);
        Assert.Equal(Flows - 20, last.FindingsOmitted);
        Assert.True(last.TimelineOmitted > 0);
        Assert.Equal(Flows, last.Timeline.Count(e => e.Kind == "finding") + last.TimelineOmitted);

        // Recorded at every change, each record within the bound, the last one read back as it is kept.
        var records = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.IncidentEvent }).ToArray();
        Assert.Equal(Flows, records.Length);
        Assert.All(records, r => Assert.True(r.Payload!.Value.Length <= Bound, $"{r.Payload!.Value.Length} bytes"));
        var read = IncidentJson.Read(records[^1].Payload!.Value);
        Assert.Equal(last.FindingsOmitted, read.FindingsOmitted);
        Assert.Equal(last.TimelineOmitted, read.TimelineOmitted);
        Assert.Equal(last.Timeline, read.Timeline);

        // Each entry left out of the last snapshot is in the one recorded when it was added.
        var everyEntry = records.SelectMany(r => IncidentJson.Read(r.Payload!.Value).Timeline).Select(e => e.Text).ToHashSet(StringComparer.Ordinal);
        for (var port = 0; port < Flows; port++)
        {
            Assert.Contains($"{RuleIds.CrossClientFlow}: {Summary("alpha", "beta", port)}", everyEntry);
        }

        // The report says what it does not list.
        var report = IncidentReport.Markdown(last, _time.GetUtcNow());
        Assert.Contains($"and {Flows - 20} more findings", report, StringComparison.Ordinal);
        Assert.Contains($"{last.TimelineOmitted} entries after the first {Incident.TimelineHead} (notifications excepted) are not listed here", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindingThatNamesAClientNoKeptFindingNames_KeptBeyondTheCount()
    {
        await using var store = await OpenAsync(_dir.File("named.db"));
        using var manager = Manager(store);
        for (var port = 0; port < 30; port++)
        {
            await manager.RecordFindingsAsync([Flow("alpha", "beta", port)], CancellationToken.None);
        }

        await manager.RecordFindingsAsync([Flow("alpha", "gamma", 1)], CancellationToken.None);
        await manager.RecordFindingsAsync([Flow("alpha", "gamma", 2)], CancellationToken.None);

        var incident = Assert.Single(manager.Incidents);
        Assert.Equal(21, incident.Findings.Count);
        Assert.Contains(incident.Findings, f => f.Clients.Contains("gamma"));
        Assert.Equal(11, incident.FindingsOmitted);
        Assert.Equal(["alpha", "beta", "gamma"], incident.Clients);
    }

    [Fact]
    public async Task NotesUntilNoRoomIsLeft_NextNoteRefusedAndNotRecorded_NoticeMeasureAndCloseStillRecorded()
    {
        var path = _dir.File("notes.db");
        var added = 0;
        await using (var store = await OpenAsync(path))
        {
            using var manager = Manager(store);
            var opened = await manager.RecordOpenedAsync("ana", "laptop stolen", ["alpha"], null, CancellationToken.None);

            // Notes of 2,000 characters that JSON escapes to six bytes each: the way the bound was first reached.
            var note = new string('\u4e00', 2000);
            IncidentFullException? refused = null;
            while (refused is null && added < 100)
            {
                try
                {
                    await manager.AddNoteAsync(opened.Id, "ana", note, CancellationToken.None);
                    added++;
                }
                catch (IncidentFullException e)
                {
                    refused = e;
                }
            }

            Assert.NotNull(refused);
            Assert.Contains(opened.Id, refused.Message, StringComparison.Ordinal);
            Assert.InRange(added, 1, 99);
            Assert.Equal(added, Assert.Single(manager.Incidents).InvestigationNotes.Count);
            Assert.Equal(1 + added, StoreFile.Read(path, new RecordQuery { Type = RecordTypes.IncidentEvent }).Count);

            // What must be recorded still is.
            await manager.AddMeasureForClientAsync("alpha", "alpha suspended", CancellationToken.None);
            await manager.SetConsequencesAsync(opened.Id, "ana", "call audio of up to 40 customers", CancellationToken.None);
            await manager.RecordNoticeGivenAsync(opened.Id, "alpha", "ana", "telephoned alpha's SOC", CancellationToken.None);
            var closed = await manager.CloseAsync(opened.Id, "ana", "laptop recovered", CancellationToken.None);
            Assert.Equal(IncidentStatus.Closed, closed.Status);
            Assert.NotNull(closed.NoticeGivenAt);
            Assert.Single(closed.MeasuresTaken);
            Assert.Equal(added, closed.InvestigationNotes.Count);
        }

        var records = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.IncidentEvent }).ToArray();
        Assert.Equal(1 + added + 4, records.Length);
        Assert.All(records, r => Assert.True(r.Payload!.Value.Length <= Bound, $"{r.Payload!.Value.Length} bytes"));
        Assert.Equal(IncidentStatus.Closed, IncidentJson.Read(records[^1].Payload!.Value).Status);
    }

    [Fact]
    public async Task MeasureForAClient_OneIncidentCannotBeRecorded_TheClientsOtherIncidentsStillGetIt()
    {
        var path = _dir.File("measures.db");
        await using var store = await OpenAsync(path);
        using var manager = Manager(store);
        var first = await manager.RecordOpenedAsync("ana", "first", ["alpha"], null, CancellationToken.None);
        var second = await manager.RecordOpenedAsync("ana", "second", ["alpha"], null, CancellationToken.None);

        // The first incident's nature alone is past what one record may hold, as a record that can no longer be written would be.
        var unrecordable = manager.Incidents.Single(i => i.Id == first.Id) with { Nature = new string('x', StoreLimit * 2) };
        manager.Restore([unrecordable]);

        await Assert.ThrowsAnyAsync<Exception>(() => manager.AddMeasureForClientAsync("alpha", "alpha suspended", CancellationToken.None));
        Assert.Single(manager.Incidents.Single(i => i.Id == second.Id).MeasuresTaken);
    }

    private Task<SqliteEvidenceStore> OpenAsync(string path) =>
        SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, CheckpointInterval = TimeSpan.Zero, BatchWindow = TimeSpan.Zero, MaxPayloadBytes = StoreLimit },
            _time,
            CancellationToken.None);

    private IncidentManager Manager(SqliteEvidenceStore store)
    {
        var policy = Policies.Site(Policies.Client("alpha"), Policies.Client("beta"), Policies.Client("gamma"));
        var notifier = new WebhookNotifier(new HttpClient(), _time, new WebhookNotifierOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
        return new IncidentManager(store, new SqliteAccessRecordCounter(store.Path), notifier, () => policy, _time)
        {
            MaxRecordBytes = Bound,
            MaxFindingsKept = 20,
        };
    }

    private static string Summary(string from, string to, int port) =>
        $"{from}'s agent 10.1.0.5 reached {to}'s 10.2.0.9 on tcp/{20000 + port} during a sweep of {to}'s addresses";

    private Finding Flow(string from, string to, int port) => Finding.Create(
        RuleIds.CrossClientFlow,
        [from, to],
        Summary(from, to, port),
        new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["src"] = "10.1.0.5",
            ["dst"] = "10.2.0.9",
            ["protocol"] = "tcp",
            ["src_port"] = 41000L,
            ["dst_port"] = 20000L + port,
            ["packets"] = 3L,
            ["vlans"] = new object?[] { 110L },
        },
        _time.GetUtcNow());
}
