namespace SegmentController.Core.Evidence;

/// <summary>
/// A record could not be made durable (disk full, permissions, store closed or corrupt). The caller must
/// treat the action it wanted to record as not done: fail closed.
/// </summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException()
    {
    }

    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
