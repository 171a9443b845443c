using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Suspension;

/// <summary>
/// Trips suspensions from findings: a finding whose action is <c>suspend</c> suspends the clients it
/// names (and nobody when it names none); loss of verification (<c>capture-degraded</c>,
/// <c>switch-unreachable</c>) suspends where <c>on_verification_lost: suspend</c> says so — its clients, or
/// the whole site when it names none, the only way a finding trips the site-wide switch;
/// <c>audit-failed</c> suspends where <c>audits.suspend_on_failure</c> says so.
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
        foreach (var finding in findings)
        {
            if (finding.Update)
            {
                // The first report of the finding took the decision; after an authorized restore, a
                // repeat of the same flow's counts does not override it.
                continue;
            }

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

            // Only lost verification concerns the whole site: a finding that names no client (an unknown
            // source, say, which any stray host can produce) or only clients the policy no longer has
            // suspends nobody, whatever its severity.
            var scopes = finding.Clients.Where(c => policy.FindClient(c) is not null).ToArray();
            if (scopes.Length == 0)
            {
                if (trigger != SuspensionTrigger.VerificationLost)
                {
                    continue;
                }

                scopes = [SuspensionNames.AllClients];
            }

            foreach (var scope in scopes)
            {
                await _engine.TripAsync(
                    new TripRequest
                    {
                        Scope = scope,
                        Trigger = trigger,
                        Actor = IdentifierNames.Of(finding.Source),
                        Reason = finding.Summary,
                        Rule = finding.Rule,
                    },
                    cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
