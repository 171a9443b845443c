using System.Globalization;
using SegmentController.Core.Audits;
using SegmentController.Core.Findings;
using SegmentController.Snmp.Checks;
using SegmentController.Snmp.Polling;

namespace SegmentController.Audits;

/// <summary>
/// Audit evidence from the switches: every switch of the policy is inventoried afresh (the same poll and
/// isolation checks as <c>segctl snmp check</c>) — an audit does not trust an older poll. A switch that
/// does not answer leaves the clients with ports on it without evidence (indeterminate, never a pass);
/// an isolation finding of severity high or critical fails the clients it names.
/// </summary>
internal sealed class SnmpAuditEvidence(TimeProvider time) : IAuditEvidenceSource
{
    public const string SourceName = "snmp";

    public string Name => SourceName;

    public async Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(progress);
        var policy = scope.Policy;
        if (policy.Switches.Count == 0)
        {
            return [new AuditCheck(Name, "switch isolation", [], AuditOutcome.Pass, "the policy names no switches: no switch to inventory at this site")];
        }

        progress.Report(string.Create(CultureInfo.InvariantCulture, $"snmp: inventorying {policy.Switches.Count} switch(es)"));
        var result = await new SiteAudit(time).RunAsync(policy, previous: null, cancellationToken).ConfigureAwait(false);
        var checks = new List<AuditCheck>();
        foreach (var poll in result.Switches)
        {
            var onSwitch = new SwitchPolicyView(policy, poll.Switch).ClientPorts.Select(p => p.Client).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            if (poll.Inventory is null)
            {
                // No answer is no evidence: for the clients on this switch or, when the policy gives
                // nobody a port on it, for everyone (it may still carry their VLANs).
                checks.Add(new AuditCheck(Name, $"switch {poll.Switch} reachable", onSwitch, AuditOutcome.Indeterminate, $"switch {poll.Switch} cannot be inventoried: {poll.Error ?? "no answer"}"));
                progress.Report($"snmp: {poll.Switch} did not answer");
                continue;
            }

            var ofSwitch = result.Findings.Where(f => IsOf(f, poll.Switch)).ToArray();
            var failing = ofSwitch.Where(f => f.Severity is Severity.Critical or Severity.High && f.Rule != RuleIds.SwitchUnreachable).ToArray();
            foreach (var finding in failing)
            {
                var port = finding.Evidence.TryGetValue("port", out var p) && p is not null ? $" port {p}" : "";
                checks.Add(new AuditCheck(Name, $"switch {poll.Switch}{port} {finding.Rule}", finding.Clients, AuditOutcome.Fail, finding.Summary));
            }

            if (failing.Length == 0)
            {
                var notes = ofSwitch.Where(f => f.Rule != RuleIds.InventoryDrift).Select(f => f.Rule).Distinct(StringComparer.Ordinal).ToArray();
                checks.Add(new AuditCheck(Name, $"switch {poll.Switch} isolation", [], AuditOutcome.Pass, string.Create(CultureInfo.InvariantCulture,
                    $"{poll.Inventory.Ports.Count} ports inventoried; VLAN membership and learned MACs agree with the policy{(notes.Length == 0 ? "" : $" (noted: {string.Join(", ", notes)})")}")));
            }

            progress.Report(string.Create(CultureInfo.InvariantCulture, $"snmp: {poll.Switch} inventoried in {poll.Elapsed.TotalMilliseconds:0} ms, {failing.Length} isolation failure(s)"));
        }

        return checks;
    }

    private static bool IsOf(Finding finding, string switchName) =>
        finding.Evidence.TryGetValue("switch", out var value) && string.Equals(value as string, switchName, StringComparison.Ordinal);
}
