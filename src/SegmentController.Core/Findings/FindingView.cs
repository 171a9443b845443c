using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Findings;

/// <summary>
/// One client's view of a finding that concerns several — what its <c>finding-view</c> record holds, beside
/// the shared <c>finding</c> an export for that client withholds: the same rule, severity, source, time and
/// counts, naming that client alone, with every other client's ids, names, addresses, VLANs, switch ports
/// and MACs replaced as in its view of an incident (<see cref="ClientRedactor"/>).
/// </summary>
public static class FindingView
{
    /// <summary><paramref name="finding"/> as <paramref name="client"/> may see it.</summary>
    public static Finding For(Finding finding, string client, SitePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(finding);
        ArgumentException.ThrowIfNullOrEmpty(client);
        return new ClientRedactor(client, finding.Clients, policy).Redact(finding);
    }
}
