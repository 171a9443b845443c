using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Metrics;

/// <summary>
/// Gives the counters alerts and dashboards take the increase of a series at 0 for every label set the
/// policy allows, before anything is counted: <c>segctl_findings_total{rule,severity,client}</c> (each rule
/// at its severity, for every client and <c>none</c>), <c>segctl_killswitch_trips_total{client,trigger}</c>
/// (every client and <c>all</c>, by trigger) and <c>segctl_policy_reloads_total{outcome}</c>. A series that
/// first appears at 1 has no increase to Prometheus (<c>increase()</c> needs two samples), so without them
/// the first critical finding or trip of a run would raise no alert. A client a reload adds gets its series
/// at once; the counts of a client taken away stay as counted.
/// </summary>
internal sealed class CounterSeries : IDisposable
{
    private readonly ControllerMetrics _metrics;
    private readonly IPolicyProvider _policy;
    private readonly Lock _lock = new();

    public CounterSeries(ControllerMetrics metrics, IPolicyProvider policy)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(policy);
        _metrics = metrics;
        _policy = policy;
        _metrics.PolicyReloadsTotal.WithLabels("applied");
        _metrics.PolicyReloadsTotal.WithLabels("rejected");
        Publish();
        policy.PolicyChanged += OnPolicyChanged;
    }

    public void Dispose() => _policy.PolicyChanged -= OnPolicyChanged;

    private void OnPolicyChanged(object? sender, SitePolicy policy) => Publish();

    private void Publish()
    {
        lock (_lock)
        {
            var clients = _policy.Current.Clients.Select(c => c.Id).ToArray();
            foreach (var rule in RuleCatalog.All.Values)
            {
                var severity = IdentifierNames.Of(rule.Severity);
                _metrics.FindingsTotal.WithLabels(rule.Id, severity, ReservedClientLabels.NoClient);
                foreach (var client in clients)
                {
                    _metrics.FindingsTotal.WithLabels(rule.Id, severity, client);
                }
            }

            foreach (var trigger in Enum.GetValues<SuspensionTrigger>())
            {
                var name = SuspensionNames.Of(trigger);
                _metrics.KillswitchTripsTotal.WithLabels(ReservedClientLabels.AllClients, name);
                foreach (var client in clients)
                {
                    _metrics.KillswitchTripsTotal.WithLabels(client, name);
                }
            }
        }
    }
}
