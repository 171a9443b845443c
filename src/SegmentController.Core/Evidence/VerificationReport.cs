namespace SegmentController.Core.Evidence;

/// <summary>The outcome of verifying a store or an export.</summary>
public sealed record VerificationReport
{
    /// <summary>Records checked (full records and, in an export, chain links).</summary>
    public required long Count { get; init; }

    /// <summary>The first problem; null when the chain holds.</summary>
    public VerificationProblem? Problem { get; init; }

    /// <summary>Facts worth telling that do not break the chain (e.g. a key introduced without endorsement).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Fingerprints (SHA-256 of the public key, hex) of the signing keys, oldest first.</summary>
    public IReadOnlyList<string> KeyIds { get; init; } = [];

    /// <summary>Index of the last record covered by a valid signature (checkpoint or head), or -1.</summary>
    public long SignedThrough { get; init; } = -1;

    /// <summary>
    /// In an export for one client: the records concerning it that the export withholds (chain links marked
    /// withheld) because they concern other clients too. Only their place in the chain is verified.
    /// </summary>
    public long Withheld { get; init; }

    /// <summary>Hex of the hash of the last record verified.</summary>
    public string HeadHash { get; init; } = "";

    /// <summary>True when the chain holds.</summary>
    public bool IsIntact => Problem is null;
}
