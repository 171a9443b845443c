using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Metrics;

namespace SegmentController.Findings;

/// <summary>
/// The one <see cref="IFindingSink"/> of the process: counts each finding per client (updates of a
/// finding are not counted again), keeps the most recent ones for status queries and hands them to every
/// <see cref="IFindingConsumer"/>.
/// </summary>
/// <remarks>
/// A consumer that fails does not stop the others: the failure is logged and rethrown after all ran,
/// so the verifier that published sees it (a verifier that cannot record its findings is not healthy).
/// </remarks>
internal sealed partial class FindingPipeline : IFindingSink
{
    /// <summary>Label value for findings that concern no client (site-wide; a reserved client label, never a client id).</summary>
    public const string NoClientLabel = Core.Policy.ReservedClientLabels.NoClient;

    private const int RecentCapacity = 512;

    private readonly ControllerMetrics _metrics;
    private readonly IEnumerable<IFindingConsumer> _consumers;
    private readonly ILogger<FindingPipeline> _logger;
    private readonly Lock _recentLock = new();
    private readonly List<Finding> _recent = new(RecentCapacity);

    public FindingPipeline(ControllerMetrics metrics, IEnumerable<IFindingConsumer> consumers, ILogger<FindingPipeline> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(consumers);
        ArgumentNullException.ThrowIfNull(logger);
        _metrics = metrics;
        _consumers = consumers;
        _logger = logger;
    }

    /// <summary>The most recent findings, oldest first; a finding that was updated appears once, as its latest update.</summary>
    public IReadOnlyList<Finding> Recent
    {
        get
        {
            lock (_recentLock)
            {
                return _recent.ToArray();
            }
        }
    }

    public async ValueTask PublishAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        if (findings.Count == 0)
        {
            return;
        }

        foreach (var finding in findings)
        {
            var severity = IdentifierNames.Of(finding.Severity);
            if (finding.Update)
            {
                // Counted once, when first made; an update carries fresh counts for the record.
                Log.FindingUpdated(_logger, finding.Rule, severity, string.Join(',', finding.Clients), finding.Summary);
                continue;
            }

            if (finding.Clients.Count == 0)
            {
                _metrics.FindingsTotal.WithLabels(finding.Rule, severity, NoClientLabel).Inc();
            }

            foreach (var client in finding.Clients)
            {
                _metrics.FindingsTotal.WithLabels(finding.Rule, severity, client).Inc();
            }

            Log.FindingMade(_logger, finding.Rule, severity, string.Join(',', finding.Clients), finding.Summary);
        }

        lock (_recentLock)
        {
            foreach (var finding in findings)
            {
                // An update replaces what it updates: one entry per finding, with its latest counts.
                var replaced = finding.Key is { } key ? _recent.FindIndex(f => string.Equals(f.Key, key, StringComparison.Ordinal)) : -1;
                if (replaced >= 0)
                {
                    _recent.RemoveAt(replaced);
                }
                else if (_recent.Count == RecentCapacity)
                {
                    _recent.RemoveAt(0);
                }

                _recent.Add(finding);
            }
        }

        List<Exception>? failures = null;
        foreach (var consumer in _consumers)
        {
            try
            {
                await consumer.OnFindingsAsync(findings, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A store that cannot be opened or written is expected (it fails closed, and says so on its
                // own): its reason is enough. Anything else is a defect and keeps its stack trace.
                Log.ConsumerFailed(_logger, consumer.GetType().Name, e.Message, e is StoreUnavailableException ? null : e);
                (failures ??= []).Add(e);
            }
        }

        if (failures is not null)
        {
            throw new AggregateException("findings were not handled by every consumer", failures);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.FindingMade, LogLevel.Warning, "Finding {Rule} ({Severity}) for [{Clients}]: {Summary}")]
        public static partial void FindingMade(ILogger logger, string rule, string severity, string clients, string summary);

        [LoggerMessage(EventIds.FindingUpdated, LogLevel.Debug, "Finding {Rule} ({Severity}) for [{Clients}] updated: {Summary}")]
        public static partial void FindingUpdated(ILogger logger, string rule, string severity, string clients, string summary);

        [LoggerMessage(EventIds.FindingConsumerFailed, LogLevel.Error, "Finding consumer {Consumer} failed: {Reason}")]
        public static partial void ConsumerFailed(ILogger logger, string consumer, string reason, Exception? exception);
    }
}
