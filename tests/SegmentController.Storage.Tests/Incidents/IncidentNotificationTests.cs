using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
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
    public async Task CriticalFinding_OpensIncident_NoticeDeliveredSignedOnTime_AllRecorded()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        Incident incident;
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await Stores.FillAsync(store, 6, _time);
            using var manager = Manager(store, receiver.Url, receiver.Certificate);
            await manager.OnFindingsAsync([CrossClient("alpha", "beta")], CancellationToken.None);

            incident = Assert.Single(manager.Incidents);
        }

        Assert.Equal(["alpha", "beta"], incident.Clients);
        Assert.Equal(_time.GetUtcNow(), incident.DetectedAt);
        Assert.Equal(incident.DetectedAt.AddHours(8), incident.NoticeDueAt);
        Assert.NotNull(incident.NoticeGivenAt);
        Assert.True(incident.NoticeOnTime);
        Assert.Equal(6, incident.ApproximateRecordsConcerned);
        var attempt = Assert.Single(incident.Notifications);
        Assert.True(attempt.Delivered);

        var (body, signature, id) = Assert.Single(receiver.Received);
        Assert.Equal(WebhookNotifier.Sign(Encoding.UTF8.GetBytes(_secret), body), signature);
        Assert.Equal(incident.Id, id);
        Assert.Equal(incident.Id, IncidentJson.Read(body).Id);

        var events = StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent });
        Assert.Equal(2, events.Count);
        var recorded = IncidentJson.Read(events[^1].Payload!.Value);
        Assert.Equal(incident.NoticeGivenAt, recorded.NoticeGivenAt);
        Assert.True(StoreVerifier.Verify(_path, CancellationToken.None).IsIntact);

        var markdown = IncidentReport.Markdown(recorded, _time.GetUtcNow());
        Assert.Contains("Notice due at:** " + incident.NoticeDueAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture), markdown, StringComparison.Ordinal);
        Assert.Contains("on time", markdown, StringComparison.Ordinal);
        Assert.Contains("about 6", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RelatedFindings_GroupedIntoOneIncident_UnrelatedOpenAnother()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var store = await Stores.OpenAsync(_path, _time);
        using var manager = Manager(store, receiver.Url, receiver.Certificate);

        await manager.OnFindingsAsync([CrossClient("alpha", "beta")], CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(5));
        await manager.OnFindingsAsync([CrossClient("beta", "gamma")], CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(5));
        await manager.OnFindingsAsync([CrossClient("delta", "epsilon")], CancellationToken.None);
        _time.Advance(TimeSpan.FromHours(2));
        await manager.OnFindingsAsync([CrossClient("alpha", "beta")], CancellationToken.None);
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
        using var manager = Manager(store, receiver.Url, receiver.Certificate);

        await manager.OnFindingsAsync([CrossClient("alpha", "beta")], CancellationToken.None);
        for (var i = 0; i < 4; i++)
        {
            // Well past the grouping window: were updates findings, each would open an incident.
            _time.Advance(TimeSpan.FromHours(1));
            await manager.OnFindingsAsync([CrossClient("alpha", "beta") with { Update = true }], CancellationToken.None);
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
        using var manager = Manager(store, receiver.Url, receiver.Certificate);

        var incident = await manager.OpenAsync("operator-ana", "laptop with client data stolen", ["alpha"], CancellationToken.None);

        Assert.Equal(3, incident.Notifications.Count);
        Assert.Equal([false, false, true], incident.Notifications.Select(n => n.Delivered));
        Assert.Equal("HTTP 503", incident.Notifications[0].Outcome);
        Assert.Equal(3, receiver.Received.Count);
        Assert.Equal("operator-ana", incident.OpenedBy);
        Assert.NotNull(incident.NoticeGivenAt);
    }

    [Fact]
    public async Task ReceiverDown_AllAttemptsFailAndRecorded_NoticeNotGiven()
    {
        var closedPort = FreePort();
        using var certificateHolder = await CertificateOnlyAsync();
        await using var store = await Stores.OpenAsync(_path, _time);
        using var manager = Manager(store, new Uri($"https://127.0.0.1:{closedPort}/hook"), certificateHolder);

        var incident = await manager.OpenAsync("operator-ana", "suspected leak", ["alpha"], CancellationToken.None);

        Assert.Equal(4, incident.Notifications.Count);
        Assert.All(incident.Notifications, n => Assert.False(n.Delivered));
        Assert.Null(incident.NoticeGivenAt);
        var markdown = IncidentReport.Markdown(incident, _time.GetUtcNow().AddHours(9));
        Assert.Contains("OVERDUE", markdown, StringComparison.Ordinal);
        var recorded = IncidentJson.Read(StoreFile.Read(_path, new RecordQuery { Type = RecordTypes.IncidentEvent })[^1].Payload!.Value);
        Assert.Equal(4, recorded.Notifications.Count);
    }

    [Fact]
    public async Task ReceiverWithOtherCertificate_Refused()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var other = await CertificateOnlyAsync();
        await using var store = await Stores.OpenAsync(_path, _time);
        using var manager = Manager(store, receiver.Url, other);

        var incident = await manager.OpenAsync("operator-ana", "suspected leak", ["alpha"], CancellationToken.None);

        Assert.All(incident.Notifications, n => Assert.False(n.Delivered));
        Assert.Empty(receiver.Received);
    }

    private IncidentManager Manager(SqliteEvidenceStore store, Uri url, System.Security.Cryptography.X509Certificates.X509Certificate2 pinned)
    {
        var contact = new Contact
        {
            Name = "alpha-soc",
            Webhook = new Webhook { Url = url, Secret = new SecretReference { Source = SecretSource.Environment, Name = _secretVariable } },
        };
        var policy = Policies.Site(Policies.Client("alpha", contact), Policies.Client("beta"), Policies.Client("gamma"));
        var notifier = new WebhookNotifier(
            WebhookReceiver.PinnedClient(pinned),
            _time,
            new WebhookNotifierOptions { MaxAttempts = 4, InitialBackoff = TimeSpan.FromMilliseconds(20), RequestTimeout = TimeSpan.FromSeconds(5) });
        return new IncidentManager(store, new SqliteAccessRecordCounter(store.Path), notifier, () => policy, _time);
    }

    private Finding CrossClient(string a, string b) => Finding.Create(
        RuleIds.CrossClientFlow,
        [a, b],
        $"{a} talks to {b}",
        new Dictionary<string, object?>(StringComparer.Ordinal) { ["src"] = "10.1.0.5", ["dst"] = "10.2.0.9", ["packets"] = 12L },
        _time.GetUtcNow());

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<System.Security.Cryptography.X509Certificates.X509Certificate2> CertificateOnlyAsync()
    {
        await using var throwaway = await WebhookReceiver.StartAsync();
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(throwaway.Certificate.RawData);
    }
}
