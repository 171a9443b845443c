using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Findings;

/// <summary>
/// One client's view of a finding that concerns several — what its <c>finding-view</c> record holds, beside
/// the shared <c>finding</c> an export for that client withholds: the same rule, severity, source, time and
/// counts, naming that client alone, with every other client's ids, names, addresses, VLANs, switch ports
/// and MACs replaced as in its view of an incident (<see cref="ClientRedactor"/>). A client the finding
/// only targets (<see cref="Finding.Targets"/>: the owner of the system a cross-client request asked for)
/// reads it with <c>clients</c> empty: it was asked of, it did nothing.
/// </summary>
public static class FindingView
{
    /// <summary><paramref name="finding"/> as <paramref name="client"/> may see it.</summary>
    public static Finding For(Finding finding, string client, SitePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(finding);
        ArgumentException.ThrowIfNullOrEmpty(client);
        var view = new ClientRedactor(client, finding.Concerned, policy).Redact(finding);

        // The client whose system was asked for is told of the attempt; the finding is not its own.
        return finding.Clients.Contains(client, StringComparer.Ordinal) ? view : view with { Clients = [] };
    }
}
