using System.Text.Json;
using Microsoft.Extensions.Logging;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Incidents;
using SegmentController.Metrics;
using SegmentController.Proxy;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Proxy;

/// <summary>
/// How <c>segctl run</c> reports switch ports a policy reload took away from a suspended client: a
/// <c>ports-released</c> record in the tamper-evident store, a log line and an entry on the incident timeline.
/// </summary>
public sealed class PortReleaseReportingTests : IDisposable
{
    private static readonly SuspensionRecord Alpha = new()
    {
        Id = "s1",
        Scope = "alpha",
        Trigger = SuspensionTrigger.Operator,
        Actor = "alice",
        Reason = "leak",
        TrippedAt = DateTimeOffset.UnixEpoch,
    };

    private static readonly PortRelease Released = new()
    {
        At = new DateTimeOffset(2026, 11, 27, 9, 0, 0, TimeSpan.Zero),
        From = "alpha",
        BroughtUp = ["sw1:Gi1/0/2"],
        LeftShut = ["sw1:Gi1/0/4"],
        Verified = true,
    };

    private static readonly Dictionary<string, string> Owners = new(StringComparer.Ordinal) { ["sw1:Gi1/0/2"] = "bravo" };

    private static readonly PortRelease NotUp = Released with
    {
        Verified = false,
        Failures = ["sw1:Gi1/0/2: failed: timeout"],
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-port-release-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task PortsReleased_RecordedUnderTheSuspensionsScope_WithWhatWasBroughtUpAndLeftShut()
    {
        var path = Path.Combine(_dir, "segctl.db");
        await using (var store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = path }, TimeProvider.System, CancellationToken.None))
        {
            var recorder = new SuspensionRecorder(store, PolicyFile.Open(TestSite.WritePolicy(_dir)).Provider!, TimeProvider.System, new RecordingLogger<SuspensionRecorder>());
            ((ISuspensionObserver)recorder).PortsReleased(Alpha, Released, Owners);
            ((ISuspensionObserver)recorder).PortsReleased(Alpha with { Id = "s2", Scope = SuspensionNames.AllClients }, NotUp, Owners);
            await recorder.StopAsync(CancellationToken.None);
            await recorder.DisposeAsync();
        }

        var records = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Suspension }).ToArray();
        Assert.Equal(2, records.Length);
        Assert.Equal("alpha", records[0].Clients);
        Assert.Null(records[1].Clients);

        using (var body = JsonDocument.Parse(records[0].Payload!.Value))
        {
            var root = body.RootElement;
            Assert.Equal("ports-released", root.GetProperty("event").GetString());
            Assert.Equal("s1", root.GetProperty("suspension_id").GetString());
            Assert.Equal("alpha", root.GetProperty("scope").GetString());
            var release = root.GetProperty("release");
            Assert.Equal(Released.At, release.GetProperty("at").GetDateTimeOffset());
            Assert.Equal("policy-reload", release.GetProperty("cause").GetString());
            Assert.Equal("alpha", release.GetProperty("from").GetString());
            Assert.Equal(["sw1:Gi1/0/2"], Strings(release, "brought_up"));
            Assert.Equal(["sw1:Gi1/0/4"], Strings(release, "left_shut"));
            Assert.True(release.GetProperty("verified").GetBoolean());
            Assert.Empty(Strings(release, "failures"));
            Assert.DoesNotContain("bravo", body.RootElement.GetRawText(), StringComparison.OrdinalIgnoreCase);
        }

        using (var body = JsonDocument.Parse(records[1].Payload!.Value))
        {
            var release = body.RootElement.GetProperty("release");
            Assert.Equal("s2", body.RootElement.GetProperty("suspension_id").GetString());
            Assert.False(release.GetProperty("verified").GetBoolean());
            Assert.Equal(["sw1:Gi1/0/2: failed: timeout"], Strings(release, "failures"));
        }
    }

    [Fact]
    public void PortsReleased_LoggedAsAWarning_NamingWhatWasBroughtUpAndLeftShut()
    {
        var logger = new RecordingLogger<SuspensionMetricsObserver>();
        ISuspensionObserver observer = new SuspensionMetricsObserver(new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry()), Policy(), logger);

        observer.PortsReleased(Alpha, Released, Owners);

        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal("Suspension of alpha: switch ports a policy reload took from alpha: brought up and read back up: bravo=sw1:Gi1/0/2; left shut (no client has them): sw1:Gi1/0/4", entry.Message);
    }

    [Fact]
    public void PortsReleasedNotReadBackUp_LoggedAsAnError_WithTheFailures()
    {
        var logger = new RecordingLogger<SuspensionMetricsObserver>();
        ISuspensionObserver observer = new SuspensionMetricsObserver(new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry()), Policy(), logger);

        observer.PortsReleased(Alpha, NotUp with { LeftShut = [] }, Owners);

        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Equal("Suspension of alpha: switch ports a policy reload took from alpha: NOT all brought up: sw1:Gi1/0/2: failed: timeout (to bring up: bravo=sw1:Gi1/0/2; left shut (no client has them): none)", entry.Message);
    }

    [Fact]
    public void PortsReleased_OnTheIncidentTimelineOfTheSuspendedScope_NamingNotWhoHasThePortsNow()
    {
        var queue = new IncidentQueue(new RecordingLogger<IncidentQueue>());

        ((ISuspensionObserver)queue).PortsReleased(Alpha, Released, Owners);
        ((ISuspensionObserver)queue).PortsReleased(Alpha, NotUp with { LeftShut = [] }, Owners);

        Assert.True(queue.Reader.TryRead(out var work));
        Assert.Equal("alpha", work.Scope);
        Assert.Equal("policy reload took switch ports from alpha: sw1:Gi1/0/2 brought up for the client the policy now gives them and read back up; sw1:Gi1/0/4 left shut (no client has them) [suspension s1]", work.Measure);
        Assert.True(queue.Reader.TryRead(out work));
        Assert.Equal("policy reload took switch ports from alpha: sw1:Gi1/0/2 brought up for the client the policy now gives them and NOT all read back up: sw1:Gi1/0/2: failed: timeout [suspension s1]", work.Measure);
    }

    private static string[] Strings(JsonElement element, string name) =>
        [.. element.GetProperty(name).EnumerateArray().Select(e => e.GetString()!)];

    private IPolicyProvider Policy() => PolicyFile.Open(TestSite.WritePolicy(_dir)).Provider!;
}
