namespace SegmentController.Storage.Chain;

/// <summary>A checkpoint record's body, or the signed head: the chain through HeadIndex hashes to HeadHash.</summary>
internal sealed record CheckpointBody(long HeadIndex, byte[] HeadHash, string KeyId, byte[] Signature);
