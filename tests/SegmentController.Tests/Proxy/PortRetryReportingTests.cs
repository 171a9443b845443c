using Microsoft.Extensions.Logging;
using SegmentController.Cli;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Incidents;
using SegmentController.Metrics;
using SegmentController.Proxy;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Proxy;

/// <summary>
/// How <c>segctl run</c> reports switch ports tried again after a shut that did not read back down: the
/// recovery like any reassertion (log line, incident timeline), failed tries at a bounded rate.
/// </summary>
public sealed class PortRetryReportingTests : IDisposable
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

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-port-retry-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static PortReassertion Try(bool verified) => new()
    {
        At = DateTimeOffset.UnixEpoch,
        Duration = TimeSpan.FromMilliseconds(12),
        Verified = verified,
        Cause = PortReassertionCause.Retry,
        Clients = ["alpha"],
        Ports = ["sw1:Gi1/0/1"],
        Failures = verified ? [] : ["sw1:Gi1/0/1: failed: timeout"],
    };

    [Fact]
    public void FailedTries_DebugUntilTheyAreAMinuteApart_ThenAnErrorEachTry()
    {
        var logger = new RecordingLogger<SuspensionMetricsObserver>();
        ISuspensionObserver observer = new SuspensionMetricsObserver(new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry()), Policy(), logger);

        foreach (var seconds in (int[])[2, 4, 8, 16, 32, 60, 60])
        {
            observer.PortRetryFailed(Alpha, Try(verified: false), TimeSpan.FromSeconds(seconds));
        }

        Assert.Equal(5, logger.Entries.Count(e => e.Level == LogLevel.Debug));
        var errors = logger.Entries.Where(e => e.Level >= LogLevel.Warning).ToArray();
        Assert.Equal(2, errors.Length);
        Assert.All(errors, e => Assert.Equal(LogLevel.Error, e.Level));
        Assert.All(errors, e => Assert.Equal("Suspension of alpha: switch ports sw1:Gi1/0/1 still NOT shut; trying again every 60 s until they are or the suspension is lifted: sw1:Gi1/0/1: failed: timeout", e.Message));
    }

    [Fact]
    public void BringUpOwedNotSaved_AnErrorNamingTheClientsAndTheReason_OncePerFailedSave()
    {
        var logger = new RecordingLogger<SuspensionMetricsObserver>();
        ISuspensionObserver observer = new SuspensionMetricsObserver(new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry()), Policy(), logger);

        observer.OwedBringUpsNotSaved(["alpha", "beta"], "No space left on device");

        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Equal(1420, Assert.Single(logger.EventIds));
        Assert.Equal("Restore: the switch ports owed a bring-up for alpha,beta changed but could NOT be saved to the suspension state file (No space left on device); saving it again 1 s, 2 s, 4 s … at most 60 s apart. Until then the file names ports as owed that are not, and a start would bring them up again", entry.Message);
    }

    [Fact]
    public void AmendmentNotSaved_AnErrorNamingTheSuspensionAndTheReason_SayingItIsSavedAgainOnTheSchedule_OncePerFailedSave()
    {
        var logger = new RecordingLogger<SuspensionMetricsObserver>();
        ISuspensionObserver observer = new SuspensionMetricsObserver(new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry()), Policy(), logger);

        observer.AmendmentNotSaved(Alpha, "No space left on device");

        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Equal(1421, Assert.Single(logger.EventIds));
        Assert.Equal("Suspension of alpha (s1) is in force, but the change to its record (stage timings, ports read back, a reassertion or release) could NOT be saved to the suspension state file (No space left on device); saving it again 1 s, 2 s, 4 s … at most 60 s apart, and with any other save of the state. Until then a start finds the record as it was last saved", entry.Message);
    }

    [Fact]
    public void RetryThatShutThePorts_LoggedAsAReassertionNamingTheRetry()
    {
        var logger = new RecordingLogger<SuspensionMetricsObserver>();
        ISuspensionObserver observer = new SuspensionMetricsObserver(new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry()), Policy(), logger);

        observer.PortsReasserted(Alpha, Try(verified: true));

        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal("Suspension of alpha retried after its switch ports did not read back down: switch ports of alpha (sw1:Gi1/0/1) shut and read back down in 12.0 ms", entry.Message);
    }

    [Fact]
    public void RetryThatShutThePorts_OnTheIncidentTimelineAsARetry()
    {
        var queue = new IncidentQueue(new RecordingLogger<IncidentQueue>());

        ((ISuspensionObserver)queue).PortsReasserted(Alpha, Try(verified: true));

        Assert.True(queue.Reader.TryRead(out var work));
        Assert.Equal("alpha", work.Scope);
        Assert.Equal("switch ports sw1:Gi1/0/1 that had not read back down tried again: switch ports of alpha shut again and read back down in 12.0 ms [suspension s1]", work.Measure);
    }

    private IPolicyProvider Policy() => PolicyFile.Open(TestSite.WritePolicy(_dir)).Provider!;
}
