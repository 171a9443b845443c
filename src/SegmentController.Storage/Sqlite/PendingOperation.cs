namespace SegmentController.Storage.Sqlite;

/// <summary>Work for the single writer: appends, or the store's own operations that must be sequenced with them.</summary>
internal abstract class PendingOperation
{
    public abstract void Fail(Exception error);
}
