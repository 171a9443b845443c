namespace SegmentController.Storage.Chain;

/// <summary>A key-rotation record's body.</summary>
internal sealed record KeyRotationBody(string KeyId, byte[] PublicKey, string? PreviousKeyId, byte[]? Endorsement);
