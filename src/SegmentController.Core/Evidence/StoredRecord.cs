namespace SegmentController.Core.Evidence;

/// <summary>A record as kept in the chain.</summary>
public sealed record StoredRecord
{
    /// <summary>Position in the chain, from 0.</summary>
    public required long Index { get; init; }

    /// <summary>When the store sequenced it (UTC, never earlier than the record before).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The <see cref="RecordTypes"/> id.</summary>
    public required string Type { get; init; }

    /// <summary>The <see cref="ClientKey"/>, or null for site-wide records.</summary>
    public string? Clients { get; init; }

    /// <summary>The body; null once purged after its retention ended.</summary>
    public ReadOnlyMemory<byte>? Payload { get; init; }

    /// <summary>SHA-256 of the body (kept after a purge so the chain still verifies).</summary>
    public required ReadOnlyMemory<byte> PayloadSha256 { get; init; }

    /// <summary>The hash of the record before (zeros for the first).</summary>
    public required ReadOnlyMemory<byte> PreviousHash { get; init; }

    /// <summary>This record's chain hash.</summary>
    public required ReadOnlyMemory<byte> Hash { get; init; }
}
