namespace SegmentController.Proxy.Access;

/// <summary>
/// Bounds the access records queued to the store and not yet on disk. Requests do not wait for the
/// disk, but once this many records are outstanding a request waits for room: a stalled store slows
/// agents down rather than growing memory without limit or dropping records.
/// </summary>
internal sealed class UnwrittenAccessRecords : IDisposable
{
    /// <summary>Records outstanding at most (a few seconds of a busy site's requests).</summary>
    public const int Capacity = 16_384;

    private readonly SemaphoreSlim _slots = new(Capacity, Capacity);

    /// <summary>Waits for room for one more record.</summary>
    public Task EnterAsync() => _slots.WaitAsync();

    /// <summary>One record is on disk (or failed and was reported).</summary>
    public void Exit() => _slots.Release();

    public void Dispose() => _slots.Dispose();
}
