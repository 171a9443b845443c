namespace SegmentController.Storage.Chain;

/// <summary>A policy-load record's retention facts: from its index on, these clients had these contract ends.</summary>
internal sealed record PolicyLoadBody(long RecordIndex, IReadOnlyDictionary<string, DateOnly> ContractEnds);
