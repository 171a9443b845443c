using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Storage.Export;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Incidents;

/// <summary>Incidents from findings, recorded in a real store, notified over real HTTPS to a local receiver.</summary>
public sealed class IncidentNotificationTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Stores.Start);
    private readonly string _secretVariable = "SEGCTL_TEST_HOOK_" + Guid.NewGuid().ToString("N");
    private readonly string _secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    private readonly string _path;

    public IncidentNotificationTests()
    {
        _path = _dir.File("incidents.db");
        Environment.SetEnvironmentVariable(_secretVariable, _secret);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_secretVariable, null);
        _dir.Dispose();
    }

    [Fact]
    public async Task CriticalFinding_OpensIncident_EachClientGetsItsOwnSignedNoticeOnTime_AllRecorded()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        Incident incident;
        DateTimeOffset observed;
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await Stores.FillAsync(store, 6, _time);
            using var manager = Manager(store, receiver.Url, receiver.Certificate, "alpha", "beta");

            // Observed two minutes ago (capture publishes a little after it sees): the clock starts then.
            observed = _time.GetUtcNow().AddMinutes(-2);
            await manager.OnFindingsAsync([CrossClient("alpha", "beta", observed)], CancellationToken.None);

            incident = Assert.Single(manager.Incidents);
        }

        Assert.Equal(["alpha", "beta"], incident.Clients);
        Assert.Equal(observed, incident.DetectedAt);
        Assert.Equal(observed.AddHours(8), incident.NoticeDueAt);
        Assert.All(incident.Notices, n => Assert.Equal(observed, n.DetectedAt));
        Assert.NotNull(incident.NoticeGivenAt);
        Assert.True(incident.NoticeOnTime);
        Assert.Equal(6, incident.ApproximateRecordsConcerned);
        Assert.Equal(3, incident.RecordsConcernedByClient["alpha"]);
        Assert.Equal(2, incident.Notifications.Count);
        Assert.All(incident.Notifications, a => Assert.True(a.Delivered));

        // Two notices, each signed, each carrying only its client's view.
        var received = receiver.Received;
        Assert.Equal(2, received.Count);
        foreach (var (body, signature, id) in received)
        {
            Assert.Equal(WebhookNotifier.Sign(Encoding.UTF8.GetBytes(_secret), body), signature);
            Assert.Equal(incident.Id, id);
            var notice = IncidentJson.Read(body);
            var own = Assert.Single(notice.Clients);
            var other = own == "alpha" ? "beta" : "alpha";
            var text = Encoding.UTF8.GetString(body);
            Assert.DoesNotContain(other, text, StringComparison.Ordinal);
            Assert.Equal(3, notice.ApproximateRecordsConcerned);
            Assert.Equal([own], notice.Findings.Single().Clients);
        }

        var events = StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent });
        var recorded = IncidentJson.Read(events[^1].Payload!.Value);
        Assert.Equal(incident.NoticeGivenAt, recorded.NoticeGivenAt);
        Assert.Equal(incident.Notices, recorded.Notices);
        Assert.True(StoreVerifier.Verify(_path, CancellationToken.None).IsIntact);

        var markdown = IncidentReport.Markdown(recorded, _time.GetUtcNow());
        Assert.Contains("Notice due at:** " + incident.NoticeDueAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture), markdown, StringComparison.Ordinal);
        Assert.Contains("on time", markdown, StringComparison.Ordinal);
        Assert.Contains("about 6", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CrossClientIncident_EachClientsOwnViewRecorded_ItsExportShowsThatAndNothingOfTheOther()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        Incident incident;
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            using var manager = Manager(store, receiver.Url, receiver.Certificate, "alpha", "beta");
            await manager.OnFindingsAsync([CrossClient("alpha", "beta", _time.GetUtcNow())], CancellationToken.None);
            incident = Assert.Single(manager.Incidents);
        }

        // Every recorded change of the shared incident has each client's view beside it, under its key alone.
        var events = StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent });
        var views = StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentView });
        Assert.Equal(events.Count * 2, views.Count);
        foreach (var (client, other) in new[] { ("alpha", "beta"), ("beta", "alpha") })
        {
            var own = views.Where(v => v.Clients == client).ToArray();
            Assert.Equal(events.Count, own.Length);
            Assert.All(own, v => Assert.DoesNotContain(other, Encoding.UTF8.GetString(v.Payload!.Value.Span), StringComparison.Ordinal));
            var last = IncidentJson.Read(own[^1].Payload!.Value);
            Assert.Equal(incident.Id, last.Id);
            Assert.Equal([client], last.Clients);
            Assert.NotNull(last.NoticeFor(client)!.GivenAt);
            Assert.Contains("another client", last.Nature, StringComparison.Ordinal);
        }

        // alpha's auditor reads alpha's part of the incident, and nothing of beta; the shared records are withheld.
        var export = _dir.File("alpha.jsonl");
        using (var stream = File.Create(export))
        {
            EvidenceExport.Write(_path, new RecordQuery { Client = "alpha" }, stream, _time.GetUtcNow(), CancellationToken.None);
        }

        var lines = File.ReadAllLines(export);
        Assert.DoesNotContain("beta", File.ReadAllText(export), StringComparison.Ordinal);
        Assert.Equal(events.Count, lines.Count(l => l.Contains("\"kind\":\"record\"", StringComparison.Ordinal) && l.Contains("\"type\":\"incident-view\"", StringComparison.Ordinal) && l.Contains(incident.Id, StringComparison.Ordinal)));
        Assert.Equal(events.Count, lines.Count(l => l.Contains("\"type\":\"incident-event\",\"withheld\":true", StringComparison.Ordinal)));
        var report = ExportVerifier.Verify(export, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task OneClientIncident_OperatorsWordsNameAnotherClient_KeptAsWrittenKeyedToBoth_NoticeAndExportAreTheClientsView()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        string named, plain;
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            using var manager = Manager(store, receiver.Url, receiver.Certificate, "alpha");
            named = (await manager.OpenAsync("operator-ana", "beta's agent reached alpha's CRM", ["alpha"], CancellationToken.None)).Id;
            await manager.AddNoteAsync(named, "operator-ana", "beta confirmed the flow", CancellationToken.None);
            await manager.SetConsequencesAsync(named, "operator-ana", "alpha's records read by beta", CancellationToken.None);
            await manager.CloseAsync(named, "operator-ana", "beta re-patched the desk", CancellationToken.None);
            plain = (await manager.OpenAsync("operator-ana", "badge cloned at alpha's door", ["alpha"], CancellationToken.None)).Id;
        }

        // The notice alpha received is its view.
        var notice = Assert.Single(receiver.Received, r => r.Incident == named).Body;
        Assert.DoesNotContain("beta", Encoding.UTF8.GetString(notice), StringComparison.Ordinal);
        Assert.Equal("another client's agent reached alpha's CRM", IncidentJson.Read(notice).Nature);

        // The words as written are on record under both keys; each snapshot has alpha's view beside it. The
        // incident whose words name no other client is recorded as it always was.
        var events = StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent });
        var namedEvents = events.Where(e => IncidentJson.Read(e.Payload!.Value).Id == named).ToArray();
        Assert.All(namedEvents, e => Assert.Equal("alpha,beta", e.Clients));
        Assert.All(events.Except(namedEvents), e => Assert.Equal("alpha", e.Clients));
        var recorded = IncidentJson.Read(namedEvents[^1].Payload!.Value);
        Assert.Equal("beta's agent reached alpha's CRM", recorded.Nature);
        Assert.Equal("alpha's records read by beta", recorded.LikelyConsequences);
        Assert.Contains(recorded.Timeline, e => e.Text == "closed by operator-ana: beta re-patched the desk");
        var views = StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentView });
        Assert.Equal(namedEvents.Length, views.Count);
        Assert.All(views, v => Assert.Equal("alpha", v.Clients));
        var view = IncidentJson.Read(views[^1].Payload!.Value);
        Assert.Equal(named, view.Id);
        Assert.Equal("alpha's records read by another client", view.LikelyConsequences);
        Assert.Equal("operator-ana: another client confirmed the flow", Assert.Single(view.InvestigationNotes).Text);

        foreach (var client in new[] { "alpha", "beta" })
        {
            var export = _dir.File($"{client}.jsonl");
            using (var stream = File.Create(export))
            {
                EvidenceExport.Write(_path, new RecordQuery { Client = client }, stream, _time.GetUtcNow(), CancellationToken.None);
            }

            var text = File.ReadAllText(export);
            Assert.DoesNotContain(client == "alpha" ? "beta" : "re-patched", text, StringComparison.Ordinal);
            Assert.Equal(namedEvents.Length, File.ReadAllLines(export).Count(l => l.Contains("\"type\":\"incident-event\",\"withheld\":true", StringComparison.Ordinal)));
            var report = ExportVerifier.Verify(export, CancellationToken.None);
            Assert.True(report.IsIntact, report.Problem?.Reason);
        }

        Assert.True(StoreVerifier.Verify(_path, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task FindingJoinsAndBringsANewClient_ThatClientNotified_ItsClockFromThatFinding()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var store = await Stores.OpenAsync(_path, _time);
        using var manager = Manager(store, receiver.Url, receiver.Certificate, "alpha", "beta", "gamma");

        await manager.OnFindingsAsync([CrossClient("alpha", "beta", _time.GetUtcNow())], CancellationToken.None);
        Assert.Equal(2, receiver.Received.Count);
        _time.Advance(TimeSpan.FromMinutes(5));
        var joined = _time.GetUtcNow().AddSeconds(-30);
        await manager.OnFindingsAsync([CrossClient("beta", "gamma", joined)], CancellationToken.None);

        var incident = Assert.Single(manager.Incidents);
        Assert.Equal(["alpha", "beta", "gamma"], incident.Clients);
        var gamma = incident.NoticeFor("gamma")!;
        Assert.Equal(joined, gamma.DetectedAt);
        Assert.Equal(joined.AddHours(8), gamma.DueAt);
        Assert.NotNull(gamma.GivenAt);

        // gamma was told once, of its own part; alpha and beta were not told again.
        var received = receiver.Received;
        Assert.Equal(3, received.Count);
        var gammaNotice = Encoding.UTF8.GetString(received[2].Body);
        Assert.Contains("\"clients\":[\"gamma\"]", gammaNotice, StringComparison.Ordinal);
        Assert.DoesNotContain("alpha", gammaNotice, StringComparison.Ordinal);
        Assert.DoesNotContain("beta", gammaNotice, StringComparison.Ordinal);
        Assert.Contains(incident.Timeline, e => e.Kind == "clients" && e.Text.StartsWith("gamma: concerned", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FindingObservedBeforeTheIncidentItJoins_ItsClientsClockStartsAtThatObservation()
    {
        await using var store = await Stores.OpenAsync(_path, _time);
        using var manager = Manager(store, new Uri("https://127.0.0.1:9/"), await CertificateOnlyAsync());

        // An operator opens alpha's incident; capture then reports the flow it saw ten minutes before that.
        var opened = await manager.RecordOpenedAsync("operator-ana", "alpha's agent seen on a foreign VLAN", ["alpha"], null, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(2));
        var observed = opened.DetectedAt.AddMinutes(-10);
        await manager.OnFindingsAsync([CrossClient("alpha", "beta", observed)], CancellationToken.None);

        var incident = Assert.Single(manager.Incidents);
        Assert.Equal(observed, incident.NoticeFor("alpha")!.DetectedAt);
        Assert.Equal(observed.AddHours(8), incident.NoticeFor("alpha")!.DueAt);
        Assert.Equal(observed, incident.NoticeFor("beta")!.DetectedAt);
        Assert.Equal(observed, incident.DetectedAt);
        Assert.Equal(observed.AddHours(8), incident.NoticeDueAt);
        Assert.Contains(incident.Timeline, e => e.Text.StartsWith("alpha: clock from finding cross-client-flow observed", StringComparison.Ordinal));

        // What a restart reads back says the same.
        var recorded = IncidentJson.Read(StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent })[^1].Payload!.Value);
        Assert.Equal(observed, recorded.NoticeFor("alpha")!.DetectedAt);
        Assert.Equal(observed, recorded.DetectedAt);

        // A later observation moves nobody's clock.
        _time.Advance(TimeSpan.FromMinutes(1));
        await manager.OnFindingsAsync([CrossClient("alpha", "beta", _time.GetUtcNow())], CancellationToken.None);
        Assert.Equal(observed, Assert.Single(manager.Incidents).NoticeFor("alpha")!.DetectedAt);
    }

    [Fact]
    public async Task RelatedFindings_GroupedIntoOneIncident_UnrelatedOpenAnother()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var store = await Stores.OpenAsync(_path, _time);
        using var manager = Manager(store, receiver.Url, receiver.Certificate, "alpha");

        await manager.OnFindingsAsync([CrossClient("alpha", "beta", _time.GetUtcNow())], CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(5));
        await manager.OnFindingsAsync([CrossClient("beta", "gamma", _time.GetUtcNow())], CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(5));
        await manager.OnFindingsAsync([CrossClient("delta", "epsilon", _time.GetUtcNow())], CancellationToken.None);
        _time.Advance(TimeSpan.FromHours(2));
        await manager.OnFindingsAsync([CrossClient("alpha", "beta", _time.GetUtcNow())], CancellationToken.None);
        await manager.OnFindingsAsync([Finding.Create(RuleIds.AuditFailed, [], "site-wide", new Dictionary<string, object?>(), _time.GetUtcNow())], CancellationToken.None);

        var incidents = manager.Incidents;
        Assert.Equal(3, incidents.Count);
        Assert.Equal(["alpha", "beta", "gamma"], incidents[0].Clients);
        Assert.Equal(2, incidents[0].Findings.Count);
    }

    [Fact]
    public async Task UpdatesOfAFinding_HoursLater_OpenNoFurtherIncident()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var store = await Stores.OpenAsync(_path, _time);
        using var manager = Manager(store, receiver.Url, receiver.Certificate, "alpha");

        await manager.OnFindingsAsync([CrossClient("alpha", "beta", _time.GetUtcNow())], CancellationToken.None);
        for (var i = 0; i < 4; i++)
        {
            // Well past the grouping window: were updates findings, each would open an incident.
            _time.Advance(TimeSpan.FromHours(1));
            await manager.OnFindingsAsync([CrossClient("alpha", "beta", _time.GetUtcNow()) with { Update = true }], CancellationToken.None);
        }

        var incident = Assert.Single(manager.Incidents);
        Assert.Single(incident.Findings);
        Assert.Single(receiver.Received);
    }

    [Fact]
    public async Task ReceiverFailsTwice_RetriedWithBackoff_EachAttemptRecorded()
    {
        await using var receiver = await WebhookReceiver.StartAsync(failFirst: 2);
        await using var store = await Stores.OpenAsync(_path, _time);
        using var manager = Manager(store, receiver.Url, receiver.Certificate, "alpha");

        var incident = await manager.OpenAsync("operator-ana", "laptop with client data stolen", ["alpha"], CancellationToken.None);

        Assert.Equal([false, false, true], incident.Notifications.Select(n => n.Delivered));
        Assert.Equal([1, 2, 3], incident.Notifications.Select(n => n.Attempt));
        Assert.Equal("HTTP 503", incident.Notifications[0].Outcome);
        Assert.Equal(3, receiver.Received.Count);
        Assert.Equal("operator-ana", incident.OpenedBy);
        Assert.NotNull(incident.NoticeGivenAt);

        // Each attempt was recorded as it happened, not only at the end.
        var recorded = StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent }).Select(r => IncidentJson.Read(r.Payload!.Value)).ToArray();
        Assert.Equal([0, 1, 2, 3], recorded.Select(r => r.Notifications.Count));
    }

    [Fact]
    public async Task ReceiverDown_KeepsTryingWithGrowingWaits_UntilTheDeadline_ThenStopsAndSaysSo()
    {
        var closedPort = FreePort.Tcp();
        using var certificateHolder = await CertificateOnlyAsync();
        await using var store = await Stores.OpenAsync(_path, _time);
        using var manager = Manager(store, new Uri($"https://127.0.0.1:{closedPort}/hook"), certificateHolder, "alpha");

        var opened = await manager.RecordOpenedAsync("operator-ana", "suspected leak", ["alpha"], null, CancellationToken.None);
        var delivering = manager.NotifyAsync(opened.Id, CancellationToken.None);
        await WaitUntilAsync(() => manager.Incidents.Single().Notifications.Count >= 4);
        Assert.False(delivering.IsCompleted);

        // Eight hours on: the next failure is the last.
        _time.Advance(TimeSpan.FromHours(9));
        var incident = await delivering.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(incident.Notifications.Count >= 4);
        Assert.All(incident.Notifications, n => Assert.False(n.Delivered));
        Assert.Equal(Enumerable.Range(1, incident.Notifications.Count), incident.Notifications.Select(n => n.Attempt));
        Assert.Null(incident.NoticeGivenAt);
        Assert.Contains(incident.Timeline, e => e.Text.Contains("passed without the notice reaching", StringComparison.Ordinal));
        var markdown = IncidentReport.Markdown(incident, _time.GetUtcNow());
        Assert.Contains("OVERDUE", markdown, StringComparison.Ordinal);
        var recorded = IncidentJson.Read(StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent })[^1].Payload!.Value);
        Assert.Equal(incident.Notifications.Count, recorded.Notifications.Count);

        // Not started again once the deadline passed.
        Assert.Empty(manager.PendingNotices());
    }

    [Fact]
    public async Task NoticeNotGivenBeforeARestart_ResumedAfterIt_AttemptsNumberedOn()
    {
        await using var receiver = await WebhookReceiver.StartAsync(failFirst: int.MaxValue);
        await using var store = await Stores.OpenAsync(_path, _time);
        string id;
        using (var before = Manager(store, receiver.Url, receiver.Certificate, "alpha"))
        {
            id = (await before.RecordOpenedAsync("operator-ana", "badge reader shows a stranger in alpha's room", ["alpha"], null, CancellationToken.None)).Id;
            using var stop = new CancellationTokenSource();
            var delivering = before.NotifyAsync(id, stop.Token);
            await WaitUntilAsync(() => before.Incidents.Single().Notifications.Count >= 2);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delivering);
        }

        receiver.FailNext(0);
        using var after = Manager(store, receiver.Url, receiver.Certificate, "alpha");
        after.Restore(StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent }).Select(r => IncidentJson.Read(r.Payload!.Value)).GroupBy(i => i.Id).Select(g => g.Last()));
        Assert.Equal([id], after.PendingNotices().Select(i => i.Id));

        var incident = await after.NotifyAsync(id, CancellationToken.None);

        Assert.NotNull(incident.NoticeGivenAt);
        var last = incident.Notifications[^1];
        Assert.True(last.Delivered);
        Assert.Equal(incident.Notifications.Count, last.Attempt);
        Assert.True(last.Attempt >= 3);
        Assert.Empty(after.PendingNotices());
    }

    [Fact]
    public async Task DeadlinePassedWhileTheControllerWasDown_PutOnRecordOnceAtTheNextStart()
    {
        await using var receiver = await WebhookReceiver.StartAsync(failFirst: int.MaxValue);
        await using var store = await Stores.OpenAsync(_path, _time);
        string id;
        using (var before = Manager(store, receiver.Url, receiver.Certificate, "alpha"))
        {
            id = (await before.RecordOpenedAsync("operator-ana", "laptop of an alpha agent lost", ["alpha", "beta"], null, CancellationToken.None)).Id;
            await before.RecordNoticeGivenAsync(id, "beta", "operator-ana", "telephone", CancellationToken.None);
            using var stop = new CancellationTokenSource();
            var delivering = before.NotifyAsync(id, stop.Token);
            await WaitUntilAsync(() => before.Incidents.Single().Notifications.Count >= 1);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delivering);
        }

        // Down for nine hours: alpha's deadline passed meanwhile, beta had notice.
        _time.Advance(TimeSpan.FromHours(9));
        using var after = Manager(store, receiver.Url, receiver.Certificate, "alpha");
        after.Restore(StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent }).Select(r => IncidentJson.Read(r.Payload!.Value)).GroupBy(i => i.Id).Select(g => g.Last()));
        Assert.Empty(after.PendingNotices());

        Assert.Equal(1, await after.RecordLapsedNoticesAsync(CancellationToken.None));
        var lapsed = Assert.Single(after.Incidents.Single().Timeline, e => e.Text.Contains("passed while the controller was not running", StringComparison.Ordinal));
        Assert.StartsWith("alpha: deadline ", lapsed.Text, StringComparison.Ordinal);
        Assert.Equal(_time.GetUtcNow(), lapsed.At);
        var recorded = IncidentJson.Read(StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent })[^1].Payload!.Value);
        Assert.Contains(recorded.Timeline, e => e.Text == lapsed.Text);

        // A later start finds it on record: not said twice.
        using var third = Manager(store, receiver.Url, receiver.Certificate, "alpha");
        third.Restore(StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent }).Select(r => IncidentJson.Read(r.Payload!.Value)).GroupBy(i => i.Id).Select(g => g.Last()));
        Assert.Equal(0, await third.RecordLapsedNoticesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task StoreFullWhileANoticeIsRetried_RetriesGoOnOnceItHasRoom_AndEveryAttemptIsRecorded()
    {
        // The store on a real, tiny tmpfs that fills up (as a full disk) while alpha's SOC is down.
        var mount = _dir.File("small");
        Directory.CreateDirectory(mount);
        Run("mount", $"-t tmpfs -o size=2m segctl-test {mount}");
        try
        {
            await using var receiver = await WebhookReceiver.StartAsync(failFirst: int.MaxValue);
            await using var store = await Stores.OpenAsync(Path.Combine(mount, "incidents.db"), _time);
            using var manager = Manager(store, receiver.Url, receiver.Certificate, "alpha");
            var opened = await manager.RecordOpenedAsync("operator-ana", "badge cloned at alpha's floor door", ["alpha"], null, CancellationToken.None);
            foreach (var size in new[] { 60 * 1024, 8 * 1024, 1024, 128 })
            {
                try
                {
                    while (true)
                    {
                        await store.AppendAsync(RecordTypes.Access, "beta", new byte[size], CancellationToken.None);
                    }
                }
                catch (StoreUnavailableException)
                {
                }
            }

            var delivering = manager.NotifyAsync(opened.Id, CancellationToken.None);
            await WaitUntilAsync(() => receiver.Received.Count >= 1);
            await Task.Delay(500);
            Assert.False(delivering.IsFaulted, delivering.Exception?.InnerException?.Message);

            // The SOC answers, then there is room again: the notice is given, and on record with the refused attempt
            // before it. The SOC first: no attempt is made while the refused one is not on record, and once there is
            // room the next follows a backoff (tens of milliseconds) after it, less than a busy machine may take to
            // come back from the remount.
            receiver.FailNext(0);
            Run("mount", $"-o remount,size=16m {mount}");
            var incident = await delivering.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.NotNull(incident.NoticeGivenAt);
            Assert.Equal([false, true], incident.Notifications.Select(n => n.Delivered));
            Assert.Equal([1, 2], incident.Notifications.Select(n => n.Attempt));
            Assert.Equal(2, receiver.Received.Count);
            var recorded = IncidentJson.Read(StoreFile.Read(store.Path, new RecordQuery { Type = RecordTypes.IncidentEvent })[^1].Payload!.Value);
            Assert.NotNull(recorded.NoticeGivenAt);
            Assert.Equal(2, recorded.Notifications.Count);
        }
        finally
        {
            Run("umount", mount);
        }
    }

    [Fact]
    public async Task StoreFullWhenAFindingArrives_ItsIncidentIsRecordedOnceThereIsRoom_ClockFromTheObservation()
    {
        // The store on a real, tiny tmpfs that is full (as a full disk) when capture reports a leak.
        var mount = _dir.File("full");
        Directory.CreateDirectory(mount);
        Run("mount", $"-t tmpfs -o size=2m segctl-test {mount}");
        try
        {
            await using var receiver = await WebhookReceiver.StartAsync();
            await using var store = await Stores.OpenAsync(Path.Combine(mount, "incidents.db"), _time);
            using var manager = Manager(store, receiver.Url, receiver.Certificate, "alpha", "beta");
            await FillAsync(store);

            var observed = _time.GetUtcNow().AddMinutes(-1);
            await Assert.ThrowsAsync<StoreUnavailableException>(async () => await manager.OnFindingsAsync([CrossClient("alpha", "beta", observed)], CancellationToken.None));
            Assert.Empty(manager.Incidents);
            Assert.Equal(1, manager.UnrecordedFindings);
            Assert.Empty(receiver.Received);

            // Room again: the next findings (none here) bring the waiting one's incident on record, its clocks from
            // the observation, and each client its notice.
            Run("mount", $"-o remount,size=16m {mount}");
            _time.Advance(TimeSpan.FromMinutes(3));
            await manager.OnFindingsAsync([], CancellationToken.None);

            var incident = Assert.Single(manager.Incidents);
            Assert.Equal(0, manager.UnrecordedFindings);
            Assert.Equal(observed, incident.DetectedAt);
            Assert.All(incident.Notices, n => Assert.Equal(observed.AddHours(8), n.DueAt));
            Assert.NotNull(incident.NoticeGivenAt);
            Assert.Equal(2, receiver.Received.Count);
            var recorded = IncidentJson.Read(StoreFile.Read(store.Path, new RecordQuery { Type = RecordTypes.IncidentEvent })[^1].Payload!.Value);
            Assert.Equal(incident.Id, recorded.Id);
            Assert.Equal(observed, recorded.DetectedAt);
        }
        finally
        {
            Run("umount", mount);
        }
    }

    [Fact]
    public async Task ReceiverWithOtherCertificate_Refused()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var other = await CertificateOnlyAsync();
        await using var store = await Stores.OpenAsync(_path, _time);
        using var manager = Manager(store, receiver.Url, other, "alpha");

        var opened = await manager.RecordOpenedAsync("operator-ana", "suspected leak", ["alpha"], null, CancellationToken.None);
        var delivering = manager.NotifyAsync(opened.Id, CancellationToken.None);
        await WaitUntilAsync(() => manager.Incidents.Single().Notifications.Count >= 1);
        _time.Advance(TimeSpan.FromHours(9));
        var incident = await delivering.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(incident.Notifications, n => Assert.False(n.Delivered));
        Assert.Empty(receiver.Received);
    }

    private static async Task FillAsync(SqliteEvidenceStore store)
    {
        foreach (var size in new[] { 60 * 1024, 8 * 1024, 1024, 128 })
        {
            try
            {
                while (true)
                {
                    await store.AppendAsync(RecordTypes.Access, "gamma", new byte[size], CancellationToken.None);
                }
            }
            catch (StoreUnavailableException)
            {
            }
        }
    }

    private IncidentManager Manager(SqliteEvidenceStore store, Uri url, System.Security.Cryptography.X509Certificates.X509Certificate2 pinned, params string[] withContacts)
    {
        Contact ContactOf(string client) => new()
        {
            Name = $"{client}-soc",
            Webhook = new Webhook { Url = url, Secret = new SecretReference { Source = SecretSource.Environment, Name = _secretVariable } },
        };

        var policy = Policies.Site(new[] { "alpha", "beta", "gamma" }.Select(c => withContacts.Contains(c) ? Policies.Client(c, ContactOf(c)) : Policies.Client(c)).ToArray());
        // The receiver answers at once (or refuses at once): the timeout is for a busy machine's TLS handshake.
        var notifier = new WebhookNotifier(WebhookReceiver.PinnedClient(pinned), _time, new WebhookNotifierOptions { RequestTimeout = TimeSpan.FromSeconds(30) });
        return new IncidentManager(store, new SqliteAccessRecordCounter(store.Path), notifier, () => policy, _time)
        {
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            MaxRetryBackoff = TimeSpan.FromMilliseconds(80),
        };
    }

    private static Finding CrossClient(string a, string b, DateTimeOffset observed) => Finding.Create(
        RuleIds.CrossClientFlow,
        [a, b],
        $"{a} talks to {b}",
        new Dictionary<string, object?>(StringComparer.Ordinal) { ["src"] = "10.1.0.5", ["dst"] = "10.2.0.9", ["packets"] = 12L },
        observed);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }

    private static void Run(string file, string arguments)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments}: {process.StandardError.ReadToEnd()}");
        }
    }

    private static async Task<System.Security.Cryptography.X509Certificates.X509Certificate2> CertificateOnlyAsync()
    {
        await using var throwaway = await WebhookReceiver.StartAsync();
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(throwaway.Certificate.RawData);
    }
}
