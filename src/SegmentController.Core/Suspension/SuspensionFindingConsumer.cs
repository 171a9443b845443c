using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Suspension;

/// <summary>
/// Trips suspensions from findings: a finding whose action is <c>suspend</c> suspends the clients it
/// names (and nobody when it names none); loss of verification (<c>capture-degraded</c>,
/// <c>switch-unreachable</c>) suspends where <c>on_verification_lost: suspend</c> says so — its clients, or
/// the whole site when it names none; <c>log-integrity-failure</c> suspends the whole site where its
/// action is <c>suspend</c> (the default for critical) — the only ways a finding trips the site-wide switch;
/// <c>audit-failed</c> suspends where <c>audits.suspend_on_failure</c> says so. An update of a finding
/// trips only a client whose suspension was lifted before the violation was last seen.
/// </summary>
public sealed class SuspensionFindingConsumer : IFindingConsumer
{
    private readonly SuspensionEngine _engine;
    private readonly IPolicyProvider _policy;

    public SuspensionFindingConsumer(SuspensionEngine engine, IPolicyProvider policy)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(policy);
        _engine = engine;
        _policy = policy;
    }

    /// <inheritdoc />
    public async ValueTask OnFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var policy = _policy.Current;
        List<Exception>? failures = null;
        foreach (var finding in findings)
        {
            SuspensionTrigger trigger;
            if (finding.Rule is RuleIds.CaptureDegraded or RuleIds.SwitchUnreachable
                && policy.Controller.OnVerificationLost == VerificationLostAction.Suspend)
            {
                trigger = SuspensionTrigger.VerificationLost;
            }
            else if (finding.Rule == RuleIds.AuditFailed)
            {
                // A failed audit suspends exactly when audits.suspend_on_failure says so (default yes).
                if (!policy.Audits.SuspendOnFailure)
                {
                    continue;
                }

                trigger = SuspensionTrigger.Audit;
            }
            else if (policy.Rules.ActionFor(finding.Rule, finding.Severity) == FindingAction.Suspend)
            {
                trigger = SuspensionTrigger.Finding;
            }
            else
            {
                continue;
            }

            // Only lost verification and a broken evidence chain concern the whole site: any other finding
            // that names no client (an unknown source, say, which any stray host can produce) or only
            // clients the policy no longer has suspends nobody, whatever its severity.
            var scopes = finding.Clients.Where(c => policy.FindClient(c) is not null).ToArray();
            if (scopes.Length == 0)
            {
                if (trigger != SuspensionTrigger.VerificationLost && finding.Rule != RuleIds.LogIntegrityFailure)
                {
                    continue;
                }

                scopes = [SuspensionNames.AllClients];
            }

            if (finding.Update)
            {
                // The first report took the decision; an update (fresh counts of the same flow or episode)
                // only trips a client that is no longer suspended although the violation went on after its
                // suspension was lifted: a restore does not license a leak that is still going.
                var state = _engine.Current;
                var seen = LastSeen(finding);
                scopes = scopes.Where(s => s != SuspensionNames.AllClients
                    ? !state.IsSuspended(s) && !(state.LiftedAt(s) >= seen)
                    : !state.AllSuspended && !(state.LiftedAt(s) >= seen)).ToArray();
            }

            foreach (var scope in scopes)
            {
                // One scope that cannot be tripped (a client a reload just removed, a state that cannot be
                // written) must not spare the others: each is tried, and the failures are reported after.
                try
                {
                    await _engine.TripAsync(
                        new TripRequest
                        {
                            Scope = scope,
                            Trigger = trigger,
                            Actor = IdentifierNames.Of(finding.Source),
                            Reason = ReasonFor(scope, finding, policy),
                            Rule = finding.Rule,
                        },
                        cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is ArgumentException or IOException)
                {
                    (failures ??= []).Add(e);
                }
            }
        }

        if (failures is not null)
        {
            throw failures.Count == 1 ? failures[0] : new AggregateException("some suspensions could not be tripped", failures);
        }
    }

    /// <summary>
    /// A client's suspension is on record under that client's key alone (and in its evidence export): its
    /// reason names nothing of another client, as the client's notice does not. The finding itself, in the
    /// store and the incident, keeps every word; a site-wide suspension keeps the summary as it is.
    /// </summary>
    private static string ReasonFor(string scope, Finding finding, SitePolicy policy) =>
        scope == SuspensionNames.AllClients
            ? finding.Summary
            : new ClientRedactor(scope, finding.Clients, policy).Redact(finding.Summary);

    // Capture findings carry the wire time of the flow's last frame; others were seen when observed.
    private static DateTimeOffset LastSeen(Finding finding) =>
        finding.Evidence.TryGetValue("last_seen", out var value) && value is DateTimeOffset lastSeen ? lastSeen : finding.ObservedAt;
}
