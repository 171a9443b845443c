using Prometheus;

namespace SegmentController.Metrics;

/// <summary>
/// Every metric the controller exports (names and labels are a contract with dashboards: see
/// DESIGN.md). Label values are bounded by the policy — client ids, switch names, interfaces, rule
/// ids, stages — never addresses.
/// </summary>
internal sealed class ControllerMetrics
{
    public ControllerMetrics(CollectorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        Registry = registry;
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);

        BuildInfo = factory.CreateGauge("segctl_build_info", "Always 1; the version label says which build runs.", "version");
        PolicyInfo = factory.CreateGauge("segctl_policy_info", "Always 1 for the policy in force.", "site", "sha256");
        PolicyReloadsTotal = factory.CreateCounter("segctl_policy_reloads_total", "Policy reloads, by outcome (applied, rejected).", "outcome");
        PolicyRestartRequired = factory.CreateGauge("segctl_policy_restart_required", "1 while the policy in force changes a setting read only at start-up (listeners, certificates, store, capture interfaces): a restart is needed to apply it.");

        ClientSuspended = factory.CreateGauge("segctl_client_suspended", "1 while the client is suspended.", "client");
        FindingsTotal = factory.CreateCounter("segctl_findings_total", "Findings made, by rule, severity and client.", "rule", "severity", "client");
        VerificationHealthy = factory.CreateGauge("segctl_verification_healthy", "1 while the verification source works.", "source");

        CapturePacketsTotal = factory.CreateCounter("segctl_capture_packets_total", "Frames captured, by interface.", "interface");
        CaptureDroppedTotal = factory.CreateCounter("segctl_capture_dropped_total", "Frames the capture lost (kernel and interface drops), by interface.", "interface");
        ClientPacketsTotal = factory.CreateCounter("segctl_client_packets_total", "Frames attributed to a client's segments.", "client");
        CaptureSuppressedViolationsTotal = factory.CreateCounter(
            "segctl_capture_suppressed_violations_total",
            "Violating flows (one per rule) not tracked one by one because the capture's violation table was full; they are reported through per-rule aggregates, by interface.",
            "interface");

        SnmpPollDuration = factory.CreateHistogram(
            "segctl_snmp_poll_duration_seconds",
            "Duration of one switch inventory.",
            new HistogramConfiguration
            {
                LabelNames = ["switch"],
                Buckets = Histogram.ExponentialBuckets(0.01, 2, 12),
            });
        SwitchReachable = factory.CreateGauge("segctl_switch_reachable", "1 when the switch's last poll gave an inventory the isolation checks could judge.", "switch");

        ProxyRequestsTotal = factory.CreateCounter("segctl_proxy_requests_total", "Proxied requests, by client and outcome.", "client", "outcome");
        ProxyConnectionsRefusedTotal = factory.CreateCounter(
            "segctl_proxy_connections_refused_total",
            "Connections the proxy's gate dropped before TLS (client suspended, or every source while the site-wide switch is on), by client (unknown for sources in no segment).",
            "client");
        ProxyRequestDuration = factory.CreateHistogram(
            "segctl_proxy_request_duration_seconds",
            "Duration of proxied requests, from the outer gate to the last byte, by client (unknown for sources in no segment).",
            new HistogramConfiguration
            {
                LabelNames = ["client"],
                // 100 µs (a refusal) to about 52 s (a long download).
                Buckets = Histogram.ExponentialBuckets(0.0001, 2, 20),
            });
        KillswitchTripsTotal = factory.CreateCounter("segctl_killswitch_trips_total", "Suspensions, by client and trigger.", "client", "trigger");
        KillswitchEnforceSeconds = factory.CreateHistogram(
            "segctl_killswitch_enforce_seconds",
            "Duration of each enforcement stage of a trip.",
            new HistogramConfiguration
            {
                LabelNames = ["stage"],
                Buckets = Histogram.ExponentialBuckets(0.0001, 2, 18),
            });

        AuditLastResult = factory.CreateGauge("segctl_audit_last_result", "Last audit per client: 1 pass, 0 fail, -1 indeterminate or none on record (its timestamp then 0).", "client");
        AuditLastTimestamp = factory.CreateGauge("segctl_audit_last_timestamp_seconds", "When the client's last audit finished (Unix time; 0 when none is on record).", "client");
        IncidentsOpen = factory.CreateGauge("segctl_incidents_open", "Open incidents per client.", "client");
        IncidentNoticeDueSeconds = factory.CreateGauge(
            "segctl_incident_notice_due_timestamp_seconds",
            "Earliest notification deadline (Unix time) among the client's incidents whose notice is not yet given.",
            "client");
    }

    /// <summary>The registry served on /metrics.</summary>
    public CollectorRegistry Registry { get; }

    public Gauge BuildInfo { get; }

    public Gauge PolicyInfo { get; }

    public Counter PolicyReloadsTotal { get; }

    public Gauge PolicyRestartRequired { get; }

    public Gauge ClientSuspended { get; }

    public Counter FindingsTotal { get; }

    public Gauge VerificationHealthy { get; }

    public Counter CapturePacketsTotal { get; }

    public Counter CaptureDroppedTotal { get; }

    public Counter ClientPacketsTotal { get; }

    public Counter CaptureSuppressedViolationsTotal { get; }

    public Histogram SnmpPollDuration { get; }

    public Gauge SwitchReachable { get; }

    public Counter ProxyRequestsTotal { get; }

    public Counter ProxyConnectionsRefusedTotal { get; }

    public Histogram ProxyRequestDuration { get; }

    public Counter KillswitchTripsTotal { get; }

    public Histogram KillswitchEnforceSeconds { get; }

    public Gauge AuditLastResult { get; }

    public Gauge AuditLastTimestamp { get; }

    public Gauge IncidentsOpen { get; }

    public Gauge IncidentNoticeDueSeconds { get; }
}
