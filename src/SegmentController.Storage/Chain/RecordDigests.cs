namespace SegmentController.Storage.Chain;

/// <summary>
/// A record's three digests computed ahead of the chain walk: SHA-256 of its payload, its content digest
/// and its link hash. Each depends only on the record's own row, so a batch of them can be computed on
/// every core while the walk itself (comparisons, order, checkpoints) stays sequential.
/// </summary>
internal readonly ref struct RecordDigests
{
    public RecordDigests(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> content, ReadOnlySpan<byte> link)
    {
        Payload = payload;
        Content = content;
        Link = link;
        IsComputed = true;
    }

    /// <summary>False for the default value: the verifier computes the digests itself.</summary>
    public bool IsComputed { get; }

    public ReadOnlySpan<byte> Payload { get; }

    public ReadOnlySpan<byte> Content { get; }

    public ReadOnlySpan<byte> Link { get; }
}
