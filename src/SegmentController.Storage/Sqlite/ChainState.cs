namespace SegmentController.Storage.Sqlite;

/// <summary>Where the chain stands on disk: next index, head hash, last time, key in force.</summary>
internal sealed record ChainState(long NextIndex, byte[] Head, long LastTicks, string? ChainKeyId);
