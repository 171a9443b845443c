namespace SegmentController.Storage.Chain;

/// <summary>What a purge record vouches for: payloads of these clients' records up to HeadIndex were removed lawfully.</summary>
internal sealed record PurgeBody(long HeadIndex, IReadOnlySet<string> Clients);
