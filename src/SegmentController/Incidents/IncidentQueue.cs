using System.Globalization;
using System.Threading.Channels;
using SegmentController.Core.Findings;
using SegmentController.Core.Suspension;

namespace SegmentController.Incidents;

/// <summary>
/// Feeds the incident service in the order things happened: findings as the pipeline publishes them, and
/// the kill switch's measures (trip, switch ports shut, reasserted or released, restore) as the engine takes them. Registered as a
/// finding consumer before the suspension consumer, so a finding's incident exists before the trip it
/// causes is linked to it. Never blocks the trip: the engine's events are queued, not handled inline.
/// </summary>
internal sealed partial class IncidentQueue : IFindingConsumer, ISuspensionObserver
{
    /// <summary>Queued items beyond which findings wait (back-pressure) and measures are logged as lost.</summary>
    public const int Capacity = 4096;

    private readonly Channel<IncidentWork> _channel = Channel.CreateBounded<IncidentWork>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly ILogger<IncidentQueue> _logger;

    public IncidentQueue(ILogger<IncidentQueue> logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
    }

    /// <summary>What the incident service reads.</summary>
    public ChannelReader<IncidentWork> Reader => _channel.Reader;

    public ValueTask OnFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        return _channel.Writer.WriteAsync(new IncidentWork(findings, null, null), cancellationToken);
    }

    public void Tripped(SuspensionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Enqueue(record.Scope, string.Create(
            CultureInfo.InvariantCulture,
            $"suspended {Describe(record.Scope)} ({SuspensionNames.Of(record.Trigger)}) by {record.Actor}: {record.Reason} [suspension {record.Id}]"));
    }

    public void StageCompleted(SuspensionRecord record, StageTiming timing)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(timing);
        if (timing.Stage != SuspensionStage.SwitchPorts)
        {
            return;
        }

        var outcome = timing.Succeeded ? "shut and read back down" : "NOT all shut";
        Enqueue(record.Scope, string.Create(
            CultureInfo.InvariantCulture,
            $"switch ports of {Describe(record.Scope)} {outcome} in {timing.Duration.TotalMilliseconds:F1} ms{(timing.Detail is { Length: > 0 } d ? ": " + d : "")} [suspension {record.Id}]"));
    }

    public void Restored(RestoreRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Enqueue(record.Suspension.Scope, string.Create(
            CultureInfo.InvariantCulture,
            $"restored {Describe(record.Suspension.Scope)}: requested by {record.RequestedBy}, approved by {string.Join(", ", record.Approvers)}: {record.Reason} [suspension {record.Suspension.Id}]"));
    }

    public void PortsReasserted(SuspensionRecord record, PortReassertion reassertion)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(reassertion);
        var outcome = reassertion.Verified ? "shut again and read back down" : "NOT all shut again";
        var failures = reassertion.Failures.Count > 0 ? ": " + string.Join("; ", reassertion.Failures) : "";
        var cause = reassertion.Cause switch
        {
            PortReassertionCause.PolicyReload => $"policy reload gave it switch ports {string.Join(", ", reassertion.Ports)}",
            PortReassertionCause.Retry => $"switch ports {string.Join(", ", reassertion.Ports)} that had not read back down tried again",
            _ => "controller restarted",
        };
        Enqueue(record.Scope, string.Create(
            CultureInfo.InvariantCulture,
            $"{cause}: switch ports of {Describe(record.Scope)} {outcome} in {reassertion.Duration.TotalMilliseconds:F1} ms{failures} [suspension {record.Id}]"));
    }

    /// <summary>
    /// Not the ports' owners: an incident of the suspended client alone is recorded in full under its key and
    /// so goes into its evidence export, which names no other client.
    /// </summary>
    public void PortsReleased(SuspensionRecord record, PortRelease release, IReadOnlyDictionary<string, string> owners)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(release);
        var parts = new List<string>(2);
        if (release.BroughtUp.Count > 0)
        {
            parts.Add($"{string.Join(", ", release.BroughtUp)} brought up for the client the policy now gives them and {(release.Verified ? "read back up" : "NOT all read back up")}");
        }

        if (release.LeftShut.Count > 0)
        {
            parts.Add($"{string.Join(", ", release.LeftShut)} left shut (no client has them)");
        }

        var failures = release.Failures.Count > 0 ? ": " + string.Join("; ", release.Failures) : "";
        Enqueue(record.Scope, string.Create(
            CultureInfo.InvariantCulture,
            $"policy reload took switch ports from {release.From}: {string.Join("; ", parts)}{failures} [suspension {record.Id}]"));
    }

    public void StateUnreadable(string message) => Enqueue(SuspensionNames.AllClients, $"every client suspended at start-up: suspension state unreadable ({message})");

    /// <summary>No more work; the service drains what is queued.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    private static string Describe(string scope) => scope == SuspensionNames.AllClients ? "all clients" : scope;

    private void Enqueue(string scope, string measure)
    {
        if (!_channel.Writer.TryWrite(new IncidentWork(null, scope, measure)))
        {
            Log.MeasureNotLinked(_logger, scope, measure);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.IncidentMeasureNotLinked, LogLevel.Error, "Measure for {Scope} not linked to its incidents (queue full or stopped); it stays in the suspension record: {Measure}")]
        public static partial void MeasureNotLinked(ILogger logger, string scope, string measure);
    }
}
