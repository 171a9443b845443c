using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Audits;

/// <summary>
/// One client's view of an audit that concerns several, or of one of the client alone whose text names
/// another client (an external audit's summary) — what its <c>audit-view</c> record holds, beside the
/// shared <c>audit-result</c> an export for that client withholds: its own result and the checks that
/// count for it (those naming it, and the site-wide ones), naming it alone, with every other client's
/// ids, names, addresses and VLANs replaced as in its view of an incident (<see cref="ClientRedactor"/>).
/// </summary>
public static class AuditView
{
    /// <summary><paramref name="report"/> as <paramref name="client"/> may see it.</summary>
    public static AuditReport For(AuditReport report, string client, SitePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(client);
        return For(report, new ClientRedactor(client, Concerned(report), policy));
    }

    /// <summary>
    /// The other clients that <paramref name="report"/>, of <paramref name="client"/> alone, names — in what a
    /// person wrote on it (an external audit's summary, the auditor it names) or anywhere else its view
    /// replaces something: each client whose ids, names, addresses, hosts, VLANs, ports or MACs are in it.
    /// None when the client's view of it is the report as recorded.
    /// </summary>
    public static IReadOnlyList<string> OthersNamed(AuditReport report, string client, SitePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(client);
        var others = new ClientRedactor(client, Concerned(report), policy);
        var asRecorded = AuditRunner.ToJson(For(report, others.Only([])));
        if (AuditRunner.ToJson(For(report, others)).AsSpan().SequenceEqual(asRecorded))
        {
            return [];
        }

        var named = others.Others.Where(other => !AuditRunner.ToJson(For(report, others.Only([other]))).AsSpan().SequenceEqual(asRecorded)).ToArray();

        // What the view replaces is always some client's; should it be no one client's alone, it is every other client's.
        return named.Length > 0 ? named : others.Others;
    }

    private static AuditReport For(AuditReport report, ClientRedactor others)
    {
        var client = others.Client;
        return report with
        {
            Trigger = others.Redact(report.Trigger),
            RecordedBy = report.RecordedBy is { } recorder ? recorder with { Name = others.Redact(recorder.Name) } : null,
            ExternalAuditor = report.ExternalAuditor is null ? null : others.Redact(report.ExternalAuditor),
            Checks = Own(others, report.Checks),
            Results = report.Results.Where(r => r.Client == client).Select(r => r with
            {
                FailingChecks = Own(others, r.FailingChecks),
                MissingEvidence = Own(others, r.MissingEvidence),
            }).ToArray(),
        };
    }

    /// <summary>Every client the report names: those it judged and those its checks concern.</summary>
    public static IReadOnlyList<string> Concerned(AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Results.Select(r => r.Client).Concat(report.Checks.SelectMany(c => c.Clients))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The checks that count for the client, naming it alone, redacted.</summary>
    private static AuditCheck[] Own(ClientRedactor others, IEnumerable<AuditCheck> checks) =>
        checks.Where(c => c.Concerns(others.Client)).Select(c => c with
        {
            Clients = c.Clients.Count == 0 ? [] : [others.Client],
            Name = others.Redact(c.Name),
            Detail = others.Redact(c.Detail),
        }).ToArray();
}
