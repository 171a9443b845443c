using SegmentController.Core.Policy;

namespace SegmentController.Core.Evidence;

/// <summary>Retention from the policy: each client's records are kept until its contract end plus six years.</summary>
public static class Retention
{
    /// <summary>The retention end of every client in the policy.</summary>
    public static IReadOnlyDictionary<string, DateOnly> RetainUntil(SitePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Clients.ToDictionary(c => c.Id, c => c.RetainUntil, StringComparer.Ordinal);
    }

    /// <summary>Purges what expired before today (UTC) by <paramref name="time"/>; clients not in the policy are kept.</summary>
    public static Task<PurgeResult> PurgeExpiredAsync(IEvidenceStore store, IEnumerable<ClientDefinition> clients, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(time);
        var retainUntil = clients.ToDictionary(c => c.Id, c => c.RetainUntil, StringComparer.Ordinal);
        return store.PurgeExpiredAsync(retainUntil, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), cancellationToken);
    }
}
