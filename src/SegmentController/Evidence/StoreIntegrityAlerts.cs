using System.Threading.Channels;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;

namespace SegmentController.Evidence;

/// <summary>
/// Raises <c>log-integrity-failure</c> (critical, site-wide) when the evidence store stops taking records
/// (once per outage, from its write health) and whenever a verification of the chain fails — in the
/// background, in an audit, or asked for through the API. The finding goes through the pipeline like any
/// other: counted in <c>segctl_findings_total</c>, and acted on by the policy's rules (by default a critical
/// finding suspends; naming no client, it concerns the whole site). It is queued here and published by
/// <see cref="StoreMaintenanceService"/>: the store's health changes on its writer thread, which must not
/// wait on the pipeline.
/// </summary>
internal sealed partial class StoreIntegrityAlerts
{
    private readonly Channel<Finding> _pending = Channel.CreateUnbounded<Finding>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TimeProvider _time;
    private readonly ILogger<StoreIntegrityAlerts> _logger;
    private int _writable = 1;

    public StoreIntegrityAlerts(DeferredEvidenceStore store, TimeProvider time, ILogger<StoreIntegrityAlerts> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _time = time;
        _logger = logger;
        store.HealthChanged += OnHealthChanged;
    }

    /// <summary>Findings raised and not yet published.</summary>
    public ChannelReader<Finding> Pending => _pending.Reader;

    /// <summary>A verification of the chain found it broken.</summary>
    public void VerificationFailed(string context, VerificationProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var at = problem.Time is { } time ? time.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture) : "unknown time";
        Raise(
            $"The evidence chain failed verification ({context}): first bad record {problem.Index} ({at}): {problem.Reason}",
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["kind"] = "verification",
                ["context"] = context,
                ["record_index"] = problem.Index,
                ["record_time"] = problem.Time,
                ["reason"] = problem.Reason,
            });
    }

    /// <summary>A verification of the chain found it broken, as described by <paramref name="detail"/> (an audit's store check).</summary>
    public void VerificationFailed(string context, string detail) =>
        Raise(
            $"The evidence chain failed verification ({context}): {detail}",
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["kind"] = "verification",
                ["context"] = context,
                ["reason"] = detail,
            });

    private void OnHealthChanged(object? sender, StoreHealth health)
    {
        var was = Interlocked.Exchange(ref _writable, health.IsWritable ? 1 : 0);
        if (was == 1 && !health.IsWritable)
        {
            Raise(
                $"The evidence store cannot be written ({health.LastError ?? "unknown reason"}): records are refused and the proxy stops forwarding",
                new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["kind"] = "unwritable",
                    ["reason"] = health.LastError,
                });
        }
    }

    private void Raise(string summary, Dictionary<string, object?> evidence)
    {
        Log.Alert(_logger, summary);
        _pending.Writer.TryWrite(Finding.Create(RuleIds.LogIntegrityFailure, [], summary, evidence, _time.GetUtcNow()));
    }

    private static partial class Log
    {
        [LoggerMessage(EvidenceEventIds.IntegrityAlert, LogLevel.Critical, "log-integrity-failure: {Summary}")]
        public static partial void Alert(ILogger logger, string summary);
    }
}
